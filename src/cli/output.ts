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

/**
 * Whether to colour output: on a terminal, unless NO_COLOR is set (https://no-color.org) or --no-color was given
 * (main.ts turns the flag into NO_COLOR), or TERM is "dumb".
 */
export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !("NO_COLOR" in process.env && process.env.NO_COLOR !== "") && process.env.TERM !== "dumb";
}

const STATE_COLORS: Record<string, number> = {
  success: 32, failed: 31, upstream_failed: 33, up_for_retry: 33, up_for_reschedule: 36, deferred: 35, running: 34, queued: 90,
  scheduled: 90, skipped: 35, none: 90,
};

/** A task or run state, coloured when colour is on. */
export function paintState(state: string, padded = state): string {
  const code = STATE_COLORS[state];
  return code && colorEnabled() ? `\u001b[${code}m${padded}\u001b[0m` : padded;
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
  // Colour goes on after padding, so escape codes never shift the columns.
  const stateCol = columns.indexOf("state");
  for (const r of rows) {
    const vals = columns.map((c) => cell(r[c]));
    const text = vals.map((v, i) => {
      const padded = v.slice(0, 60).padEnd(widths[i] ?? 0);
      return i === stateCol ? paintState(v, padded) : padded;
    }).join("  ").trimEnd();
    process.stdout.write(`${text}\n`);
  }
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
