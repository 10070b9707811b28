/**
 * Maps anything a handler throws to an HTTP status and the `{ error: { code, message, hint } }` body.
 * A caller's mistake is always a 4xx; anything else is a 500 with a generic message (and is logged).
 */
import { UserError, type UserErrorCode, assertExhaustive } from "../core/errors.js";

/** The JSON body of every API error. */
export interface ErrorBodyJson {
  error: { code: string; message: string; hint: string; field?: string };
}

/** HTTP status of a caller error code. */
export function statusOfCode(code: UserErrorCode): number {
  switch (code) {
    case "not_found": return 404;
    case "invalid_input": return 400;
    case "conflict": return 409;
    case "not_granted": return 403;
    case "unauthorized": return 401;
    case "forbidden": return 403;
    case "too_large": return 413;
    case "unavailable": return 503;
    default: return assertExhaustive(code, "error code");
  }
}

interface FastifyLikeError { statusCode?: number; code?: string; message?: string; validation?: unknown }

/** Turns a thrown value into a status and body; `internal` is true when it was not the caller's fault. */
export function toHttpError(err: unknown): { status: number; body: ErrorBodyJson; internal: boolean } {
  if (err instanceof UserError) {
    const body: ErrorBodyJson = { error: { code: err.code, message: err.message, hint: err.hint } };
    if (err.field !== undefined) body.error.field = err.field;
    return { status: statusOfCode(err.code), body, internal: false };
  }
  const f = (typeof err === "object" && err !== null ? err : {}) as FastifyLikeError;
  // Errors fastify raises for the request itself (malformed JSON, wrong content type, body too large).
  if (typeof f.statusCode === "number" && f.statusCode >= 400 && f.statusCode < 500) {
    return { status: f.statusCode, body: fastifyClientError(f), internal: false };
  }
  return {
    status: 500,
    body: { error: { code: "internal", message: "The server failed to handle this request", hint: "Check the server log; if it persists, report it with the request that caused it" } },
    internal: true,
  };
}

function fastifyClientError(f: FastifyLikeError): ErrorBodyJson {
  const status = f.statusCode ?? 400;
  if (status === 413) {
    return { error: { code: "too_large", message: "The request body is larger than the server accepts", hint: "Send a smaller body, or raise api.maxBodyBytes in the server's configuration" } };
  }
  if (status === 415) {
    return { error: { code: "invalid_input", message: "Unsupported content type", hint: "Send the body as JSON with 'Content-Type: application/json'" } };
  }
  if (f.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    return { error: { code: "invalid_input", message: "The body is empty but the content type is JSON", hint: "Send a JSON object such as {} or drop the Content-Type header" } };
  }
  if (f.code === "FST_ERR_CTP_INVALID_JSON_BODY" || (f.message ?? "").includes("JSON")) {
    return { error: { code: "invalid_input", message: `The body is not valid JSON (${(f.message ?? "").slice(0, 200)})`, hint: "Fix the JSON syntax of the request body" } };
  }
  if (status === 404) {
    return { error: { code: "not_found", message: "No such API route", hint: "See /api/v1/openapi.json for the routes this server offers" } };
  }
  if (status === 414) {
    return { error: { code: "invalid_input", message: "A part of the URL is too long", hint: "Ids are at most 250 characters; check the URL" } };
  }
  if (status === 405) {
    return { error: { code: "invalid_input", message: "Method not allowed on this route", hint: "See /api/v1/openapi.json for the methods of each route" } };
  }
  return { error: { code: "invalid_input", message: (f.message ?? "Bad request").slice(0, 500), hint: "Check the request against /api/v1/openapi.json" } };
}

/** Thrown when a request lacks a valid token. */
export class UnauthorizedError extends UserError {
  override name = "UnauthorizedError";
  constructor(message: string) {
    super("unauthorized", message, "Send 'Authorization: Bearer <token>' with a token from the server's api.tokens (or AIRLOCK__API__TOKEN)");
  }
}

/** Thrown when a token's role may not do what was asked. */
export class ForbiddenError extends UserError {
  override name = "ForbiddenError";
  constructor(message: string, hint = "Use a token with the admin role for actions that change state") {
    super("forbidden", message, hint);
  }
}
