/** Printing for the CLI: plain tables for people, JSON for scripts, and errors that say what to do. */
import { UserError } from "../core/errors.js";
import { ConfigError } from "../config/config.js";
import { DagDefinitionError } from "../sdk/errors.js";

/** Exit codes: 0 success, 1 a run or task failed, 2 bad usage or bad input. */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 2 } as const;

/** Prints JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as an aligned table. */
export function printTable(rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write("(none)\n");
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  // The last column is printed whole: it holds the longest text (a reason, a list of tries).
  const line = (vals: string[]) => vals.map((v, i) => (i === vals.length - 1 ? v : v.slice(0, 60).padEnd(widths[i] ?? 0))).join("  ").trimEnd();
  process.stdout.write(`${line(columns)}\n${line(widths.map((w) => "-".repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(columns.map((c) => cell(r[c])))}\n`);
}

/** Raised for bad command-line usage. */
export class UsageError extends UserError {
  override name = "UsageError";
  constructor(message: string, hint: string) {
    super("invalid_input", message, hint);
  }
}

/** Prints an error for a person (or as JSON) and returns the exit code it maps to. */
export function reportError(err: unknown, json: boolean): number {
  const e = err instanceof Error ? err : new Error(String(err));
  const isUser = e instanceof UserError || e instanceof ConfigError || e instanceof DagDefinitionError;
  const hint = e instanceof UserError ? e.hint : null;
  if (json) {
    process.stderr.write(`${JSON.stringify({ error: { code: e instanceof UserError ? e.code : isUser ? "invalid_input" : "internal", message: e.message, hint } })}\n`);
  } else {
    process.stderr.write(`error: ${e.message}\n`);
    if (hint) process.stderr.write(`hint: ${hint}\n`);
    if (!isUser && process.env.AIRLOCK_DEBUG) process.stderr.write(`${e.stack}\n`);
    if (!isUser && !process.env.AIRLOCK_DEBUG) process.stderr.write("hint: set AIRLOCK_DEBUG=1 for the stack trace, and report it if it looks like a bug\n");
  }
  return isUser ? EXIT_CODES.usage : EXIT_CODES.failed;
}

/** Parses a --conf JSON argument. */
export function parseConf(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--conf is not valid JSON (${(err as Error).message})`, `Quote it for the shell, e.g. --conf '{"name": "x"}'`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UsageError("--conf must be a JSON object", `e.g. --conf '{"name": "x"}'`);
  return v as Record<string, unknown>;
}

/** "1 run", "2 runs": a count with its noun in the right number. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
