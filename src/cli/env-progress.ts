/**
 * Progress of `airlock env build`: a listr2 spinner per environment on a terminal, plain "[name] step" lines
 * otherwise (and on stderr with --json, so stdout stays one JSON document).
 */
import { Listr } from "listr2";
import { colorEnabled } from "./output.js";

/** One unit of work with a title; `step` reports its current step. */
export interface ProgressItem<T> {
  title: string;
  run: (step: (line: string) => void) => Promise<{ value: T; summary: string }>;
}

/** The outcome of one item. */
export type ProgressResult<T> = { title: string; ok: true; value: T } | { title: string; ok: false; error: unknown };

/** Runs the items one after another, showing progress; never throws for an item's failure. */
export async function runWithProgress<T>(items: ProgressItem<T>[], options: { json: boolean }): Promise<Array<ProgressResult<T>>> {
  const results: Array<ProgressResult<T>> = [];
  // A spinner needs a terminal wide enough to draw on (a zero-width one, e.g. some CI consoles, gets plain lines).
  const fancy = !options.json && process.stdout.isTTY === true && !process.env.CI && (process.stdout.columns ?? 0) >= 40 && colorEnabled();
  if (!fancy) {
    const out = options.json ? process.stderr : process.stdout;
    for (const item of items) {
      const started = Date.now();
      try {
        const { value, summary } = await item.run((line) => out.write(`[${item.title}] ${line}\n`));
        out.write(`[${item.title}] ${summary} (${seconds(started)})\n`);
        results.push({ title: item.title, ok: true, value });
      } catch (error) {
        out.write(`[${item.title}] failed: ${(error as Error).message ?? String(error)}\n`);
        results.push({ title: item.title, ok: false, error });
      }
    }
    return results;
  }
  const list = new Listr(items.map((item) => ({
    title: item.title,
    task: async (_ctx: unknown, task: { output: string; title: string }) => {
      const started = Date.now();
      try {
        const { value, summary } = await item.run((line) => {
          task.output = line;
        });
        task.title = `${item.title}: ${summary} (${seconds(started)})`;
        results.push({ title: item.title, ok: true, value });
      } catch (error) {
        results.push({ title: item.title, ok: false, error });
        throw error;
      }
    },
  })), { concurrent: false, exitOnError: false, rendererOptions: { collapseErrors: false } });
  await list.run().catch(() => undefined);
  return results;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}
