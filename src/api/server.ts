/**
 * The API server (fastify): /api/v1 routes, the OpenAPI document, SSE, and the built web UI at /.
 * Used by `airlock api` and `airlock standalone`.
 */
import { readFileSync } from "node:fs";
import { airlockVersion } from "../core/install.js";
import Fastify from "fastify";
import { TokenAuth } from "./auth.js";
import { ChangeHub } from "./change-hub.js";
import { createCoreBridge, type CoreBridge } from "./core.js";
import { UserError } from "../core/errors.js";
import { toHttpError } from "./errors.js";
import { guardRequest, hostName } from "./request-guard.js";
import { buildOpenApi } from "./openapi.js";
import { API_PREFIX, methodsOfPath, registerRoutes, type AnyRoute } from "./route.js";
import { allRoutes } from "./routes/index.js";
import { openStreams } from "./routes/events.js";
import type { ApiContext, ApiServices } from "./services.js";
import { defaultUiDir, resolveStatic } from "./static.js";

/** Options of `createApiServer`; host and port default to the config's api section. */
export interface ApiServerOptions {
  host?: string;
  port?: number;
  /** Folder of the built UI. @default the package's ui/dist */
  uiDir?: string;
  /** Replaces single core functions (embedding and tests). */
  core?: Partial<CoreBridge>;
  /** How often the change feed is polled for SSE clients. @default 250 */
  changePollMs?: number;
  /** Where warnings and server errors go. @default console.error */
  log?: (message: string) => void;
}

/** A running API server. */
export interface ApiServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Stops accepting requests, ends open streams; idempotent. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

/**
 * Host names the server answers when api.allowedHosts is not set: the name it is bound to and the loopback names.
 * Bound to all interfaces (which needs a token) it answers any name, as it cannot know the names it is reached by.
 */
function defaultAllowedHosts(host: string): string[] {
  if (host === "0.0.0.0" || host === "::") return ["*"];
  return [...new Set([hostName(host), "localhost", "127.0.0.1", "::1"])];
}

/** Airlock's version from package.json. */
export { airlockVersion };

/** Starts the API server and resolves once it listens. */
export async function createApiServer(ctx: ApiContext, opts: ApiServerOptions = {}): Promise<ApiServer> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const auth = new TokenAuth(ctx.config.api.tokens);
  let host = opts.host ?? ctx.config.api.host;
  if (!auth.enabled && !LOOPBACK.has(host)) {
    log(`warning: no API token is configured, so the API would be open to anyone on the network; binding to 127.0.0.1 instead of ${host}. Set AIRLOCK__API__TOKEN (or api.tokens) to serve on ${host}.`);
    host = "127.0.0.1";
  }
  const version = airlockVersion();
  const hub = new ChangeHub(ctx.store, opts.changePollMs);
  const services: ApiServices = { ctx, core: createCoreBridge(ctx, opts.core), hub, version };
  const routes = allRoutes;
  const openapi = buildOpenApi(routes, version);
  const uiDir = opts.uiDir ?? defaultUiDir();
  const allowOf = methodsOfPath([...routes, { method: "GET", path: "/openapi.json" } as AnyRoute]);

  const app = Fastify({
    bodyLimit: ctx.config.api.maxBodyBytes,
    routerOptions: { maxParamLength: 1000 },
    forceCloseConnections: true,
    logger: false,
    // Errors of the HTTP parser itself (headers over Node's 16 KiB, malformed requests) get a JSON error body too.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return void socket.destroy();
      const overflow = (err as { code?: string }).code === "HPE_HEADER_OVERFLOW";
      const body = JSON.stringify(overflow
        ? { error: { code: "invalid_input", message: "The request headers are larger than the server accepts (16 KiB)", hint: "Send fewer or shorter headers; large cookies for this host are the usual cause" } }
        : { error: { code: "invalid_input", message: "The request is not valid HTTP", hint: "Check the client sending it" } });
      socket.end(`HTTP/1.1 ${overflow ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
    // Router-level errors (bad URL encoding, over-long path segments) get the same JSON error body.
    frameworkErrors: (err, _request, reply) => {
      const given = (err as { statusCode?: number }).statusCode ?? 400;
      const status = given >= 400 && given < 500 ? given : 400;
      const plain = reply as unknown as { code(n: number): { send(body: unknown): unknown } };
      plain.code(status).send(toHttpError({ statusCode: status, code: err.code, message: err.message }).body);
    },
  });
  app.setErrorHandler((err, request, reply) => {
    const { status, body, internal } = toHttpError(err);
    if (internal) log(`error: ${request.method} ${request.url.split("?")[0]}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    void reply.code(status).header("cache-control", "no-store").send(body);
  });
  app.setNotFoundHandler(async (request, reply) => {
    const urlPath = request.url.split("?")[0] ?? "/";
    if (request.method === "GET" && urlPath !== "/api" && !urlPath.startsWith("/api/")) {
      const file = await resolveStatic(uiDir, urlPath);
      if (file) return reply.code(200).header("content-type", file.type).header("cache-control", file.cacheControl).send(file.body);
    }
    return reply.code(404).send(toHttpError({ statusCode: 404 }).body);
  });
  const allowedHosts = ctx.config.api.allowedHosts ?? defaultAllowedHosts(host);
  app.addHook("onRequest", async (request, reply) => {
    guardRequest(request.method, request.headers, allowedHosts, auth.enabled);
    // Before body parsing, so that a method with a body (QUERY, say) is refused for what it is.
    const urlPath = request.url.split("?")[0] ?? "/";
    const allow = urlPath.startsWith(`${API_PREFIX}/`) ? allowOf(urlPath) : undefined;
    if (allow && !allow.split(", ").includes(request.method)) {
      return reply.code(405).header("allow", allow).header("cache-control", "no-store").send({
        error: { code: "method_not_allowed", message: `${request.method} is not a method of this route`, hint: `Use ${allow}; /api/v1/openapi.json lists each route's methods` },
      });
    }
    return undefined;
  });
  app.get(`${API_PREFIX}/openapi.json`, async () => openapi);
  registerRoutes(app, routes, services, auth);

  let url: string;
  try {
    url = await app.listen({ host, port: opts.port ?? ctx.config.api.port });
  } catch (err) {
    hub.close();
    const code = (err as { code?: string }).code;
    if (code === "EADDRINUSE") {
      throw new UserError("conflict", `Port ${opts.port ?? ctx.config.api.port} on ${host} is already in use`, "Stop the other server or choose another port with --port or AIRLOCK__API__PORT", { cause: err });
    }
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    url: url.replace("[::1]", "localhost"),
    close: () => {
      closing ??= (async () => {
        for (const s of openStreams.get(services) ?? []) s.close();
        hub.close();
        await app.close();
      })();
      return closing;
    },
  };
}
