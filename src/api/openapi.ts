/**
 * Builds the OpenAPI 3.1 document from the route table, so the document and the server cannot drift apart:
 * the schemas that validate a request are the ones the document shows.
 */
import { z } from "zod";
import { API_PREFIX, type AnyRoute } from "./route.js";
import { ErrorBody } from "./schemas.js";

/** A JSON Schema object. */
export type JsonSchema = Record<string, unknown>;

/** An OpenAPI 3.1 document (the parts Airlock fills). */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
  security: Array<Record<string, string[]>>;
}

/** One operation of the document. */
export interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags: string[];
  parameters: Array<{ name: string; in: "path" | "query"; required: boolean; schema: JsonSchema; description?: string }>;
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }> }>;
  security?: Array<Record<string, string[]>>;
  "x-airlock-role": string;
}

type ZodInternals = { _zod: { def: { type: string; in?: ZodInternals; out?: ZodInternals } } };

/** JSON Schema of a zod schema as a request sees it; preprocessed fields show their target type. */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      const def = (ctx.zodSchema as unknown as ZodInternals)._zod.def;
      if (def.type === "pipe" && def.in?._zod.def.type === "transform" && def.out) {
        Object.assign(ctx.jsonSchema, toJsonSchema(def.out as unknown as z.ZodType));
      }
    },
  }) as JsonSchema;
  delete out.$schema;
  return out;
}

function parametersOf(schema: z.ZodType | undefined, where: "path" | "query"): OpenApiOperation["parameters"] {
  if (!schema) return [];
  const json = toJsonSchema(schema);
  const props = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const p: OpenApiOperation["parameters"][number] = { name, in: where, required: where === "path" || (required.has(name) && !("default" in s)), schema: s };
    if (typeof s.description === "string") p.description = s.description;
    return p;
  });
}

const ERROR_REF = { $ref: "#/components/schemas/Error" };
const ERROR_TEXT: Record<number, string> = {
  400: "Invalid input (the message names the field)",
  401: "Missing or invalid bearer token",
  403: "The token's role may not do this",
  404: "Not found",
  409: "Conflicts with the current state",
  413: "Request body too large",
  500: "Server error",
  503: "A part of the server is unavailable",
};

/** Builds the document for a route table. */
export function buildOpenApi(routes: readonly AnyRoute[], version: string): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const r of routes) {
    const responses: OpenApiOperation["responses"] = {};
    const okType = r.eventStream ? "text/event-stream" : "application/json";
    responses[String(r.status ?? 200)] = { description: r.summary, content: { [okType]: { schema: toJsonSchema(r.response) } } };
    const errors = new Set<number>([400, 500, ...(r.errors ?? [])]);
    if (r.role !== "public") [401, 403].forEach((s) => errors.add(s));
    if (r.body) errors.add(413);
    for (const s of [...errors].sort()) responses[String(s)] = { description: ERROR_TEXT[s] ?? "Error", content: { "application/json": { schema: ERROR_REF } } };
    // The HTTP parser refuses these before any route runs; the server still answers with the error body.
    responses["431"] = { description: "Request headers too large", content: { "application/json": { schema: ERROR_REF } } };
    const op: OpenApiOperation = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      parameters: [...parametersOf(r.params, "path"), ...parametersOf(r.query, "query")],
      responses,
      "x-airlock-role": r.role,
    };
    // A body may be left out exactly when the schema accepts {} (what an absent body means).
    if (r.body) op.requestBody = { required: !r.body.safeParse({}).success, content: { "application/json": { schema: toJsonSchema(r.body) } } };
    if (r.role === "public") op.security = [];
    const path = API_PREFIX + r.path;
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Airlock API",
      version,
      description: "Airlock's REST API. Send 'Authorization: Bearer <token>'; read-only tokens may call GET routes, admin tokens every route.",
    },
    servers: [{ url: "/" }],
    paths,
    components: {
      schemas: { Error: toJsonSchema(ErrorBody) },
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearerAuth: [] }],
  };
}
