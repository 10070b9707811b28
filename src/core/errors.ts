/**
 * Errors the core raises for a caller's mistake. Each has a closed `code`, a message that says what is wrong,
 * and a `hint` that says what to do. The API maps them to 4xx, the CLI to exit code 2.
 */

/** Codes of caller errors. */
export type UserErrorCode =
  | "not_found" | "invalid_input" | "conflict" | "not_granted" | "unauthorized" | "forbidden" | "too_large"
  | "unavailable";

/** Base class of errors that are the caller's to fix. */
export class UserError extends Error {
  override name = "UserError";
  constructor(readonly code: UserErrorCode, message: string, readonly hint: string, options?: { cause?: unknown; field?: string }) {
    super(message, options);
    this.field = options?.field;
  }
  readonly field: string | undefined;
}

/** An unknown DAG, run, task, connection, variable or environment. */
export class NotFoundError extends UserError {
  override name = "NotFoundError";
  constructor(what: string, id: string, hint: string) {
    super("not_found", `${what} "${id}" was not found`, hint);
  }
}

/** Input that fails validation; `field` names the offending field. */
export class ValidationError extends UserError {
  override name = "ValidationError";
  constructor(field: string, message: string, hint: string, options?: { cause?: unknown }) {
    super("invalid_input", `${field}: ${message}`, hint, { ...options, field });
  }
}

/** An action that conflicts with the current state (e.g. a run id that exists). */
export class ConflictError extends UserError {
  override name = "ConflictError";
  constructor(message: string, hint: string) {
    super("conflict", message, hint);
  }
}

/** Wraps anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === "string" ? err : `Non-error thrown: ${safeString(err)}`, { cause: err });
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Compile-time exhaustiveness check for closed unions. */
export function assertExhaustive(value: never, what = "value"): never {
  throw new Error(`Unhandled ${what}: ${String(value)}`);
}
