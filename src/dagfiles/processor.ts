/**
 * Keeps the store in step with the DAG folder: parses new and changed files in child processes (a few at a time,
 * each with a time limit), records DAGs and import errors, and deactivates DAGs whose files are gone.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { SerializedDag } from "../sdk/serialized.js";
import type { AirlockContext } from "../core/context.js";
import { AIRLOCK_DIST } from "../core/install.js";
import type { ParseResult } from "./parse-child.js";
import { catalogFile } from "../datasets/catalog.js";
import { fingerprintFiles, modifiedSince, ParseCache, type CachedParse } from "./parse-cache.js";

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
export async function parseInChild(file: string, outDir: string, timeoutMs: number, catalogFile?: string): Promise<ParseResult> {
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
  child.stdin?.end(JSON.stringify({ file, outDir, catalogFile }));
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
  /** Each file's inputs as of its last parse (the file alone before that): a change to any of them re-parses it. */
  private readonly inputs = new Map<string, string[]>();
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
    return fingerprintFiles(this.inputs.get(file) ?? [file]);
  }

  /** True when the store still holds exactly what the cached parse recorded. */
  private async storeAgrees(fileloc: string, cached: CachedParse, errorFiles: Set<string>): Promise<boolean> {
    if (cached.dags === null) return errorFiles.has(fileloc);
    if (errorFiles.has(fileloc)) return false;
    for (const [id, hash] of Object.entries(cached.dags)) {
      const d = await this.ctx.store.getDag(id);
      if (!d || !d.isActive || d.fileloc !== fileloc || d.versionHash !== hash || !existsSync(d.bundlePath)) return false;
    }
    return true;
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
    const cache = new ParseCache(config.stateDir);
    cache.load();
    cache.retain(files);
    for (const f of [...this.seen.keys()]) {
      if (!files.includes(f)) {
        this.seen.delete(f);
        this.inputs.delete(f);
      }
    }
    for (const f of files) {
      const cachedInputs = cache.get(f)?.inputs;
      if (!this.inputs.has(f) && cachedInputs) this.inputs.set(f, cachedInputs);
    }
    const changed = files.filter((f) => force || this.seen.get(f) !== this.fingerprint(f));
    let errorFiles: Promise<Set<string>> | null = null;
    const importErrorFiles = () => (errorFiles ??= store.listImportErrors().then((l) => new Set(l.map((e) => e.fileloc))));
    const summary: RefreshSummary = { files: files.length, parsed: 0, dags: 0, errors: 0 };
    const queue = [...changed];
    const limit = this.options.concurrency ?? Math.max(1, Math.min(4, os.availableParallelism()));
    const work = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const fingerprint = this.fingerprint(f);
        const cached = force ? undefined : cache.get(f);
        if (cached && cached.fingerprint === fingerprint && (await this.storeAgrees(rel(f), cached, await importErrorFiles()))) {
          this.seen.set(f, fingerprint);
          if (cached.dags) summary.dags += Object.keys(cached.dags).length;
          else summary.errors++;
          continue;
        }
        const started = Date.now();
        const result = await parseInChild(f, path.join(config.stateDir, "dags"), this.options.timeoutMs ?? config.scheduler.parseTimeoutMs, catalogFile(config.projectDir));
        summary.parsed++;
        // undefined: not worth caching (a clash between files, or a parser that never reported: timeout, crash).
        let recorded: Record<string, string> | null | undefined;
        if (result.ok) {
          const r = await this.record(rel(f), result, (n) => (summary.errors += n));
          summary.dags += Object.keys(r.dags).length;
          recorded = r.clean ? r.dags : undefined;
        } else {
          summary.errors++;
          await store.setImportError(rel(f), result.error);
          recorded = result.inputs ? null : undefined;
        }
        const inputs = result.inputs ?? [f];
        this.inputs.set(f, inputs);
        // An input written during the parse (or just before: file times are coarse) may not be what was read.
        const settled = !modifiedSince(inputs, started - 100);
        const now = fingerprintFiles(inputs);
        this.seen.set(f, settled ? now : fingerprint);
        if (settled && recorded !== undefined) cache.set(f, { inputs, fingerprint: now, dags: recorded });
        else cache.delete(f);
      }
    };
    await Promise.all(Array.from({ length: limit }, work));
    try {
      cache.save();
    } catch {
      // The cache only saves time; the next pass parses again.
    }
    return summary;
  }

  private async record(fileloc: string, result: Extract<ParseResult, { ok: true }>, onError: (n: number) => void): Promise<{ dags: Record<string, string>; clean: boolean }> {
    const { store } = this.ctx;
    const ids: string[] = [];
    const recorded: Record<string, string> = {};
    const clashes: string[] = [];
    for (const dag of result.dags) {
      const existing = await store.getDag(dag.id);
      if (existing && existing.isActive && existing.fileloc !== fileloc) {
        clashes.push(`DAG id "${dag.id}" is already defined in ${existing.fileloc}: rename one of them`);
        continue;
      }
      const hash = versionHash(dag, result.bundleHash);
      await store.upsertDag({ fileloc, serialized: dag, versionHash: hash, bundlePath: result.bundlePath, pausedByDefault: this.ctx.config.scheduler.dagsArePausedAtCreation });
      ids.push(dag.id);
      recorded[dag.id] = hash;
    }
    await store.deactivateMissingDags(fileloc, ids);
    if (clashes.length > 0) {
      onError(1);
      await store.setImportError(fileloc, clashes.join("\n"));
    } else await store.clearImportError(fileloc);
    return { dags: recorded, clean: clashes.length === 0 };
  }
}
