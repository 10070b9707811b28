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
import { ParseLimits } from "./parse-limits.js";

/** Outcome of one refresh. */
export interface RefreshSummary {
  files: number;
  parsed: number;
  dags: number;
  errors: number;
  /** Parses still running when the refresh returned (only with `waitForSlow: false`). */
  pending: number;
}

/** Options of a refresh. */
export interface RefreshOptions {
  /** Parse every file, even unchanged ones. @default false */
  force?: boolean;
  /**
   * Wait for every parse. With false the refresh returns once each parse it started has ended or become slow; slow
   * ones go on in the background (until scheduler.parseTimeoutMs) and record their outcome when they end. @default true
   */
  waitForSlow?: boolean;
}

/** A parse running longer than this stops counting against the concurrency limit, so it cannot hold up others. */
const SLOW_PARSE_MS = 3000;

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

/** Limits of one parse child. */
export interface ParseChildLimits {
  /** Killed after this long. */
  timeoutMs: number;
  /** Memory confinement (a cgroup, else RLIMIT_DATA); none when absent. */
  memory?: ParseLimits;
  /** Stops the parse (the processor is closing). */
  signal?: AbortSignal;
}

/** Parses one file in a child process; kills it after the time limit, confined to the memory limit. */
export async function parseInChild(file: string, outDir: string, limits: ParseChildLimits, catalogFile?: string): Promise<ParseResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: process.env.NODE_ENV ?? "production" };
  if (process.env.TZ) env.TZ = process.env.TZ;
  const heapMiB = Math.min(4096, limits.memory?.memoryMiB ?? 4096);
  const node = [process.execPath, `--max-old-space-size=${heapMiB}`, "--enable-source-maps", path.join(AIRLOCK_DIST, "dagfiles", "parse-child.js")];
  const confined = limits.memory?.confine(node);
  const [command, ...args] = (confined?.argv ?? node) as [string, ...string[]];
  const child = spawn(command, args, { cwd: path.dirname(file), env, stdio: ["pipe", "ignore", "pipe", "pipe"] });
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
  const stop = () => {
    child.kill("SIGKILL");
    void confined?.kill();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, limits.timeoutMs);
  limits.signal?.addEventListener("abort", stop);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));
  clearTimeout(timer);
  limits.signal?.removeEventListener("abort", stop);
  const { overLimit } = (await confined?.finish()) ?? { overLimit: false };
  const name = path.basename(file);
  if (limits.signal?.aborted) return { ok: false, error: `parsing ${name} was stopped: the orchestrator is shutting down` };
  if (timedOut) return { ok: false, error: `parsing ${name} took longer than ${Math.round(limits.timeoutMs / 1000)} s and was stopped: keep a DAG file's top-level code quick (no network calls or long loops), or raise scheduler.parseTimeoutMs` };
  if (overLimit || (!out && /JavaScript heap out of memory|Allocation failed/.test(stderr))) {
    return { ok: false, error: `parsing ${name} needed more than ${limits.memory?.memoryMiB ?? heapMiB} MiB of memory and was stopped: keep a DAG file's top-level code light (load data inside tasks, not at import), or raise scheduler.parseMemoryMiB` };
  }
  try {
    return JSON.parse(out) as ParseResult;
  } catch {
    const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    return { ok: false, error: `the parser of ${name} ${why}${stderr ? `: ${stderr.trim().split("\n").slice(-5).join("\n")}` : ""}` };
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
  /** Files being parsed now (by this or an earlier refresh): never parsed twice at once. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private running: Promise<RefreshSummary> | null = null;
  private cache: ParseCache | null = null;
  private readonly limits: ParseLimits;
  private readonly closing = new AbortController();
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly ctx: AirlockContext, private readonly options: { timeoutMs?: number; concurrency?: number; memoryMiB?: number } = {}) {
    this.limits = new ParseLimits(options.memoryMiB ?? ctx.config.scheduler.parseMemoryMiB);
  }

  /** Parses new or changed files; concurrent calls share one pass. */
  refresh(options: boolean | RefreshOptions = {}): Promise<RefreshSummary> {
    const o = typeof options === "boolean" ? { force: options } : options;
    this.running ??= this.pass(o.force ?? false, o.waitForSlow ?? true).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Stops every parse still running (their files are parsed again by the next orchestrator); idempotent. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.all(this.inFlight.values());
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

  /** Waits for a parse slot; the returned function gives it back (idempotent). */
  private async slot(): Promise<() => void> {
    const limit = this.options.concurrency ?? Math.max(1, Math.min(4, os.availableParallelism()));
    while (this.active >= limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }

  private async pass(force: boolean, waitForSlow: boolean): Promise<RefreshSummary> {
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
    if (!this.cache) {
      this.cache = new ParseCache(config.stateDir);
      this.cache.load();
    }
    const cache = this.cache;
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
    const changed = files.filter((f) => !this.inFlight.has(f) && (force || this.seen.get(f) !== this.fingerprint(f)));
    let errorFiles: Promise<Set<string>> | null = null;
    const importErrorFiles = () => (errorFiles ??= store.listImportErrors().then((l) => new Set(l.map((e) => e.fileloc))));
    const summary: RefreshSummary = { files: files.length, parsed: 0, dags: 0, errors: 0, pending: this.inFlight.size };
    const one = async (f: string, settled: () => void) => {
      const fingerprint = this.fingerprint(f);
      const cached = force ? undefined : cache.get(f);
      if (cached && cached.fingerprint === fingerprint && (await this.storeAgrees(rel(f), cached, await importErrorFiles()))) {
        this.seen.set(f, fingerprint);
        if (cached.dags) summary.dags += Object.keys(cached.dags).length;
        else summary.errors++;
        return;
      }
      const release = await this.slot();
      // A parse that runs long gives its slot back (it may still be killed at the time limit), so a file that loops
      // or grinds holds up neither other files nor, with waitForSlow: false, the refresh.
      const slow = setTimeout(() => {
        release();
        settled();
      }, SLOW_PARSE_MS);
      let result: ParseResult;
      const started = Date.now();
      try {
        result = await parseInChild(f, path.join(config.stateDir, "dags"), { timeoutMs: this.options.timeoutMs ?? config.scheduler.parseTimeoutMs, memory: this.limits, signal: this.closing.signal }, catalogFile(config.projectDir));
      } finally {
        clearTimeout(slow);
        release();
      }
      // Stopped by close(): nothing was learnt about the file.
      if (this.closing.signal.aborted) return;
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
      const settledNow = !modifiedSince(inputs, started - 100);
      const now = fingerprintFiles(inputs);
      this.seen.set(f, settledNow ? now : fingerprint);
      if (settledNow && recorded !== undefined) cache.set(f, { inputs, fingerprint: now, dags: recorded });
      else cache.delete(f);
    };
    let returned = false;
    const waits = changed.map((f) => {
      let settled!: () => void;
      const slowOrDone = new Promise<void>((r) => (settled = r));
      const done = one(f, settled).finally(() => {
        this.inFlight.delete(f);
        settled();
        // A parse that outlived its refresh saves its own cache entry.
        if (returned) this.saveCache();
      });
      this.inFlight.set(f, done.catch(() => undefined));
      // A failure of a parse that outlived its refresh is reported, not lost.
      if (!waitForSlow) done.catch((err: Error) => { if (returned) process.stderr.write(`airlock: parsing ${rel(f)} failed: ${err.message}\n`); });
      return waitForSlow ? done : Promise.race([done, slowOrDone]);
    });
    await Promise.all(waits).finally(() => (returned = true));
    summary.pending = this.inFlight.size;
    this.saveCache();
    return summary;
  }

  private saveCache(): void {
    try {
      this.cache?.save();
    } catch {
      // The cache only saves time; the next pass parses again.
    }
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
