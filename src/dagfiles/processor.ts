/**
 * Keeps the store in step with the DAG folder: parses new and changed files in child processes (a few at a time,
 * each with a time limit), records DAGs and import errors, and deactivates DAGs whose files are gone.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { SerializedDag } from "../sdk/serialized.js";
import type { AirlockContext } from "../core/context.js";
import { AIRLOCK_DIST } from "../core/install.js";
import type { ParseResult } from "./parse-child.js";

/** Outcome of one refresh. */
export interface RefreshSummary {
  files: number;
  parsed: number;
  dags: number;
  errors: number;
}

const DAG_FILE = /\.(m?ts|m?js)$/;

/** DAG files under `folder`: .ts/.mts/.js/.mjs that mention "airlock", skipping _private, dot files and node_modules. */
export function listDagFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith(".") || e.name.startsWith("_") || e.name === "node_modules") continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (DAG_FILE.test(e.name) && !e.name.endsWith(".d.ts")) out.push(full);
    }
  };
  walk(folder);
  return out.sort();
}

/** Parses one file in a child process; kills it after `timeoutMs`. */
export async function parseInChild(file: string, outDir: string, timeoutMs: number): Promise<ParseResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: process.env.NODE_ENV ?? "production" };
  if (process.env.TZ) env.TZ = process.env.TZ;
  const child = spawn(process.execPath, ["--max-old-space-size=4096", "--enable-source-maps", path.join(AIRLOCK_DIST, "dagfiles", "parse-child.js")], {
    cwd: path.dirname(file), env, stdio: ["pipe", "ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let out = "";
  child.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString("utf8");
  });
  const fd3 = child.stdio[3] as NodeJS.ReadableStream;
  fd3.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  child.stdin?.on("error", () => undefined);
  child.stdin?.end(JSON.stringify({ file, outDir }));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));
  clearTimeout(timer);
  if (timedOut) return { ok: false, error: `parsing took longer than ${Math.round(timeoutMs / 1000)} s and was stopped: keep a DAG file's top-level code quick (no network calls or long loops), or raise scheduler.parseTimeoutMs` };
  try {
    return JSON.parse(out) as ParseResult;
  } catch {
    const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    return { ok: false, error: `the parser ${why}${stderr ? `: ${stderr.trim().split("\n").slice(-5).join("\n")}` : ""}` };
  }
}

/** Hash naming a DAG version: its serialized form plus its compiled code. */
export function versionHash(serialized: SerializedDag, bundleHash: string): string {
  return createHash("sha256").update(JSON.stringify(serialized)).update(bundleHash).digest("hex").slice(0, 32);
}

/** Syncs the DAG folder into the store; call `refresh()` periodically. */
export class DagFileProcessor {
  private readonly seen = new Map<string, string>();
  private running: Promise<RefreshSummary> | null = null;

  constructor(private readonly ctx: AirlockContext, private readonly options: { timeoutMs?: number; concurrency?: number } = {}) {}

  /** Parses new or changed files; concurrent calls share one pass. */
  refresh(force = false): Promise<RefreshSummary> {
    this.running ??= this.pass(force).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private fingerprint(file: string): string {
    try {
      const st = statSync(file);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return "gone";
    }
  }

  private async pass(force: boolean): Promise<RefreshSummary> {
    const { config, store } = this.ctx;
    const files = listDagFiles(config.dagsFolder).filter((f) => {
      try {
        return readFileSync(f, "utf8").includes("airlock");
      } catch {
        return false;
      }
    });
    const rel = (f: string) => path.relative(config.projectDir, f);
    await store.deactivateMissingFiles(files.map(rel));
    for (const f of [...this.seen.keys()]) if (!files.includes(f)) this.seen.delete(f);
    const changed = files.filter((f) => force || this.seen.get(f) !== this.fingerprint(f));
    const summary: RefreshSummary = { files: files.length, parsed: 0, dags: 0, errors: 0 };
    const queue = [...changed];
    const limit = this.options.concurrency ?? Math.max(1, Math.min(4, os.availableParallelism()));
    const work = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const fingerprint = this.fingerprint(f);
        const result = await parseInChild(f, path.join(config.stateDir, "dags"), this.options.timeoutMs ?? config.scheduler.parseTimeoutMs);
        summary.parsed++;
        if (result.ok) summary.dags += await this.record(rel(f), result, (n) => (summary.errors += n));
        else {
          summary.errors++;
          await store.setImportError(rel(f), result.error);
        }
        this.seen.set(f, fingerprint);
      }
    };
    await Promise.all(Array.from({ length: limit }, work));
    return summary;
  }

  private async record(fileloc: string, result: Extract<ParseResult, { ok: true }>, onError: (n: number) => void): Promise<number> {
    const { store } = this.ctx;
    const ids: string[] = [];
    const clashes: string[] = [];
    for (const dag of result.dags) {
      const existing = await store.getDag(dag.id);
      if (existing && existing.isActive && existing.fileloc !== fileloc) {
        clashes.push(`DAG id "${dag.id}" is already defined in ${existing.fileloc}: rename one of them`);
        continue;
      }
      await store.upsertDag({ fileloc, serialized: dag, versionHash: versionHash(dag, result.bundleHash), bundlePath: result.bundlePath });
      ids.push(dag.id);
    }
    await store.deactivateMissingDags(fileloc, ids);
    if (clashes.length > 0) {
      onError(1);
      await store.setImportError(fileloc, clashes.join("\n"));
    } else await store.clearImportError(fileloc);
    return ids.length;
  }
}
