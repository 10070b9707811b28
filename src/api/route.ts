/**
 * A route is declared once — method, path, role, zod schemas of its inputs and output, handler — and that one
 * declaration both registers it with fastify (validating inputs) and describes it in the OpenAPI document.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { ValidationError } from "../core/errors.js";
import { bearerToken, type Principal, type RouteRole, type TokenAuth } from "./auth.js";
import type { ApiServices } from "./services.js";
import { recordApiAudit } from "./audit.js";

/** What a handler receives: validated inputs plus the server's services. */
export interface HandlerInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  services: ApiServices;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** HTTP methods the API uses. */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One API operation. `path` uses OpenAPI's `{param}` syntax and is relative to /api/v1. */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  role: RouteRole;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** Success status. @default 200 */
  status?: number;
  /** The response is a text/event-stream written by the handler itself. */
  eventStream?: boolean;
  /** Accept the token as `?token=` too (EventSource cannot set headers). */
  queryToken?: boolean;
  /** Error statuses this operation can answer besides 400/401/403/413/500. */
  errors?: number[];
  handler(input: HandlerInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R> | undefined>;
}

/** A route with its types erased, as kept in the route table. */
export type AnyRoute = RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>;

type Empty = z.ZodObject<Record<string, never>>;

/** Declares a route, inferring handler types from its schemas. */
export function defineRoute<P extends z.ZodType = Empty, Q extends z.ZodType = Empty, B extends z.ZodType = Empty, R extends z.ZodType = z.ZodType>(
  spec: RouteSpec<P, Q, B, R>,
): AnyRoute {
  return spec as unknown as AnyRoute;
}

/** API prefix of every route. */
export const API_PREFIX = "/api/v1";

/** Registers routes on a fastify instance; inputs are validated with the routes' schemas. */
export function registerRoutes(app: FastifyInstance, routes: readonly AnyRoute[], services: ApiServices, auth: TokenAuth): void {
  for (const spec of routes) {
    app.route({
      method: spec.method,
      url: API_PREFIX + spec.path.replace(/\{(\w+)\}/g, ":$1"),
      handler: async (request, reply) => {
        const query = (request.query ?? {}) as Record<string, unknown>;
        const token = bearerToken(request.headers.authorization) ?? (spec.queryToken && typeof query.token === "string" ? query.token : undefined);
        const principal = auth.authorize(token, spec.role);
        const input: HandlerInput<unknown, unknown, unknown> = {
          params: validate(spec.params, request.params ?? {}, "path"),
          query: validate(spec.query, query, "query"),
          // No body is `{}`; a body that is JSON null is not, and fails validation naming the field.
          body: validate(spec.body, request.body === undefined ? {} : request.body, "body"),
          principal,
          services,
          request,
          reply,
        };
        const result = await spec.handler(input as HandlerInput<never, never, never>);
        if (spec.method !== "GET") await recordApiAudit(services.ctx.store, spec.operationId, principal, { params: input.params, body: input.body, result }, (line) => request.log.warn(line));
        if (spec.eventStream) return reply;
        // A handler may have set its own status (e.g. health answering 503).
        if (reply.statusCode === 200) reply.code(spec.status ?? 200);
        return reply.send(result);
      },
    });
  }
}

/**
 * The methods each route path offers, for answering 405 with `Allow` to any other method (including ones fastify
 * has no router entry for, such as TRACE). Returns the Allow value for a request path, or undefined if no path matches.
 */
export function methodsOfPath(routes: readonly AnyRoute[]): (urlPath: string) => string | undefined {
  const table = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const spec of routes) {
    const source = `^${API_PREFIX}${spec.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{\w+\\?\}/g, "[^/]+")}$`;
    const entry = table.get(source) ?? { pattern: new RegExp(source), methods: new Set<string>() };
    entry.methods.add(spec.method);
    // fastify answers HEAD for every GET route.
    if (spec.method === "GET") entry.methods.add("HEAD");
    table.set(source, entry);
  }
  return (urlPath) => {
    for (const { pattern, methods } of table.values()) if (pattern.test(urlPath)) return [...methods].join(", ");
    return undefined;
  };
}

/** Parses `value` with `schema`, raising a ValidationError that names the first bad field. */
export function validate(schema: z.ZodType | undefined, value: unknown, where: "path" | "query" | "body"): unknown {
  if (!schema) return {};
  if (where !== "body" && value && typeof value === "object") {
    // Numbers in a URL are coerced, and Number("") is 0: an empty value is no number, so `?since=` is refused.
    const shape = (schema as { shape?: Record<string, unknown> }).shape ?? {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === "" && isNumeric(shape[key])) {
        throw new ValidationError(`${where}.${key}`, "expected a number, got an empty value", `Give ${key} a number or leave it out; /api/v1/openapi.json describes every field`);
      }
    }
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = [where, ...(issue?.path ?? []).map(String)].join(".");
  let message = issue?.message ?? "is invalid";
  if (issue?.code === "unrecognized_keys") message = `unknown ${issue.keys.length === 1 ? "field" : "fields"} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  if (issue?.code === "invalid_type" && issue.message.startsWith("Invalid input")) message = `expected ${issue.expected}`;
  return raise(new ValidationError(field, message, `Fix ${field} and retry; /api/v1/openapi.json describes every field`));
}

/** Whether a (possibly optional or defaulted) schema is a number. */
function isNumeric(schema: unknown): boolean {
  let s = schema as { _zod?: { def?: { type?: string; innerType?: unknown } } } | undefined;
  for (let depth = 0; depth < 5 && s?._zod?.def; depth++) {
    const def = s._zod.def;
    if (def.type === "number") return true;
    if (def.type !== "optional" && def.type !== "default" && def.type !== "nullable") return false;
    s = def.innerType as typeof s;
  }
  return false;
}

function raise(err: Error): never {
  throw err;
}
