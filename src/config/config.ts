/**
 * Airlock configuration: every default lives here, files and environment variables are validated with a schema,
 * and each error names the key and the fix.
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { BACKEND_NAMES, type BackendName } from "../sdk/types.js";
import { WARM_LAUNCH_DEFAULTS, type WarmLaunchSettings } from "./warm-launch.js";
import { type KubernetesProfile, type KubernetesSettings, kubernetesSchema } from "./kubernetes.js";

/** A bearer token and what it may do. */
export interface ApiToken {
  token: string;
  role: "admin" | "read";
  /** Who uses it, as the audit log shows it (e.g. "ci", "alice"). @default "token #<position>" */
  name?: string;
}

/** The resolved configuration; paths are absolute. */
export interface AirlockConfig {
  /** Folder holding airlock.config.* (or the working directory). */
  projectDir: string;
  /** @default "<project>/dags" */
  dagsFolder: string;
  /** @default "<project>/environments" */
  environmentsFolder: string;
  /** Private state: store, logs, builds, keys. @default "<project>/.airlock" */
  stateDir: string;
  /** "sqlite:<path>" or a postgres:// URL. @default "sqlite:<stateDir>/airlock.db" */
  store: string;
  /** Backend for tasks that name none. @default "process" */
  defaultBackend: BackendName;
  /** Project name used in image names. @default the project folder's name */
  project: string;
  /**
   * allowedHosts: Host header names the API answers (DNS-rebinding defence); "*" allows any.
   * @default null: the bound host, "localhost", "127.0.0.1" and "::1" (any name when bound to all interfaces, which needs a token)
   */
  api: { host: string; port: number; tokens: ApiToken[]; maxBodyBytes: number; allowedHosts: string[] | null };
  /** maxBytesPerTry: a try's log stops at this size with a marker line; the rest of its output is dropped. @default 104857600 (100 MiB) */
  logs: { maxBytesPerTry: number };
  /**
   * parseTimeoutMs: a DAG file whose parse takes longer is stopped and becomes an import error. @default 30000
   * parseMemoryMiB: memory limit of the child process parsing one DAG file (a cgroup, else RLIMIT_DATA); a file
   * that needs more becomes an import error. @default 1024
   * dagsArePausedAtCreation: a new DAG starts paused unless its file says `pausedOnCreation: false` (Airflow's
   * default). @default true
   * catchupConfirmAbove: unpausing a DAG that would create more catch-up runs than this asks first (CLI) and warns
   * (UI). @default 25
   * leaseMs: the leading scheduler's lease; renewed every third of it on its own timer, and a standby takes over
   * once it expires (about leaseMs after the leader died). @default 5000
   */
  scheduler: { parseIntervalMs: number; pollIntervalMs: number; parseTimeoutMs: number; parseMemoryMiB: number; dagsArePausedAtCreation: boolean; catchupConfirmAbove: number; leaseMs: number };
  /**
   * heartbeatMs: how often a worker heartbeats (and looks for lost workers). @default 5000
   * workerTimeoutMs: a worker silent for longer is declared lost; its tries are adopted or failed. @default 15000
   * fallbackAfterMs: a routed task moves to a fallback queue once its queue has had no live worker this long. @default 30000
   * hostname: the host name a worker registers and records on its tries. @default the machine's host name
   */
  /** warmLaunch: runners started before tries are claimed (see `WarmLaunchSettings`); `true`/`false` sets `enabled` only. */
  executor: { parallelism: number; queues: string[]; heartbeatMs: number; workerTimeoutMs: number; fallbackAfterMs: number; hostname: string; warmLaunch: WarmLaunchSettings };
  docker: { socketPath: string | null; host: string | null; registry: string | null; baseImage: string | null };
  /** Where and how tries run as pods; see `KubernetesSettings`. */
  kubernetes: KubernetesSettings;
  /**
   * Pipeline datasets. artifacts: where datasets without a catalog entry are kept (a folder, or s3://bucket/prefix).
   * @default "<stateDir>/datasets". s3*: the object store (also AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
   * AWS_SECRET_ACCESS_KEY); region @default "us-east-1".
   */
  datasets: { artifacts: string; s3Endpoint: string | null; s3Region: string; s3AccessKeyId: string | null; s3SecretAccessKey: string | null };
  secrets: { key: string | null };
  /** Where CLI commands send requests when set (a remote server) instead of opening the store. */
  cli: { apiUrl: string | null; token: string | null };
}

/** A resource profile (seed 004): requests and limits apply on every backend; the kubernetes backend also places pods by it. */
export type ResourceProfile = KubernetesProfile;

/** Raised for an invalid configuration file or variable; the message names the key. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const tokenSchema = z.object({ token: z.string().min(8), role: z.enum(["admin", "read"]), name: z.string().min(1).max(100).optional() }).strict();

const fileSchema = z.object({
  dagsFolder: z.string().min(1),
  environmentsFolder: z.string().min(1),
  stateDir: z.string().min(1),
  store: z.string().min(1),
  defaultBackend: z.enum(BACKEND_NAMES as [BackendName, ...BackendName[]]),
  project: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "use lower-case letters, digits, '.', '_' and '-'"),
  api: z.object({
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535),
    tokens: z.array(tokenSchema),
    token: z.string().min(8),
    maxBodyBytes: z.coerce.number().int().positive(),
    allowedHosts: z.union([z.array(z.string().min(1)), z.string().transform((s) => s.split(",").map((h) => h.trim()).filter(Boolean))]),
  }).strict().partial(),
  logs: z.object({ maxBytesPerTry: z.coerce.number().int().min(1024) }).strict().partial(),
  scheduler: z.object({
    parseIntervalMs: z.coerce.number().int().positive(),
    pollIntervalMs: z.coerce.number().int().positive(),
    parseTimeoutMs: z.coerce.number().int().positive(),
    parseMemoryMiB: z.coerce.number().int().min(128),
    dagsArePausedAtCreation: z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]),
    catchupConfirmAbove: z.coerce.number().int().min(0),
    leaseMs: z.coerce.number().int().min(500),
  }).strict().partial(),
  executor: z.object({
    parallelism: z.coerce.number().int().positive(),
    queues: z.union([z.array(z.string()), z.string().transform((s) => s.split(",").map((q) => q.trim()).filter(Boolean))]),
    heartbeatMs: z.coerce.number().int().min(100),
    workerTimeoutMs: z.coerce.number().int().min(500),
    fallbackAfterMs: z.coerce.number().int().min(0),
    hostname: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, "use letters, digits, '.', '_' and '-'"),
    warmLaunch: z.union([
      z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true"),
      z.object({
        enabled: z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]),
        perEnvironment: z.coerce.number().int().min(1).max(64),
        idleMs: z.coerce.number().int().min(100),
        maxProcesses: z.coerce.number().int().min(1).max(1024),
        maxMemoryMiB: z.coerce.number().int().min(16),
      }).strict().partial(),
    ]),
  }).strict().partial(),
  docker: z.object({
    socketPath: z.string(),
    host: z.string(),
    registry: z.string(),
    baseImage: z.string(),
  }).strict().partial(),
  kubernetes: kubernetesSchema,
  datasets: z.object({
    artifacts: z.string().min(1),
    s3Endpoint: z.string().url(),
    s3Region: z.string().min(1),
    s3AccessKeyId: z.string().min(1),
    s3SecretAccessKey: z.string().min(1),
  }).strict().partial(),
  secrets: z.object({ key: z.string().min(16) }).strict().partial(),
  cli: z.object({ apiUrl: z.string().url(), token: z.string().min(1) }).strict().partial(),
}).strict().partial();

type FileConfig = z.infer<typeof fileSchema>;

/** Config file names looked for in the project folder, in order. */
export const CONFIG_FILES = ["airlock.config.json", "airlock.config.ts", "airlock.config.js", "airlock.config.mjs"];

/** The project folder around `cwd` like git finds its repository: the nearest ancestor with a config file, or null. */
export function locateProject(cwd: string): string | null {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (CONFIG_FILES.some((f) => existsSync(path.join(dir, f)))) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

/** Finds the project folder: the nearest ancestor of `cwd` with a config file, else `cwd`. */
export function findProjectDir(cwd: string): string {
  return locateProject(cwd) ?? path.resolve(cwd);
}

/** Line and column (1-based) of a character offset in `text`. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 };
}

/** A JSON syntax error as "line L, column C: reason". */
function jsonSyntaxError(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  const reason = err.message.replace(/ in JSON at position \d+.*$/, "").replace(/^Unexpected token/, "unexpected token");
  if (!m) return reason;
  const { line, column } = lineColumn(text, Number(m[1]));
  return `line ${line}, column ${column}: ${reason}`;
}

async function readConfigFile(projectDir: string): Promise<{ file: string; data: unknown } | undefined> {
  for (const name of CONFIG_FILES) {
    const file = path.join(projectDir, name);
    if (!existsSync(file)) continue;
    if (name.endsWith(".json")) {
      const text = readFileSync(file, "utf8");
      try {
        return { file, data: JSON.parse(text) };
      } catch (err) {
        throw new ConfigError(`${file} is not valid JSON (${jsonSyntaxError(text, err as Error)}); fix the syntax`, { cause: err });
      }
    }
    const { loadTsModule } = await import("./load-module.js");
    const mod = (await loadTsModule(file)) as { default?: unknown };
    return { file, data: mod.default ?? mod };
  }
  return undefined;
}

/** Builds a nested object from AIRLOCK__SECTION__KEY variables (AIRLOCK__API__TOKEN → api.token). */
function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, Record<string, unknown> | unknown> = {};
  const camel = (s: string) => s.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("AIRLOCK__") || value === undefined) continue;
    const parts = name.slice("AIRLOCK__".length).split("__").map(camel);
    if (parts.length === 1 && parts[0]) out[parts[0]] = value;
    else if (parts.length === 2 && parts[0] && parts[1]) {
      const section = (out[parts[0]] ??= {}) as Record<string, unknown>;
      section[parts[1]] = value;
    } else throw new ConfigError(`${name}: use AIRLOCK__SECTION__KEY, e.g. AIRLOCK__API__PORT=8080`);
  }
  // "core" is an alias for top-level keys, as in Airflow's [core] section.
  const core = out.core as Record<string, unknown> | undefined;
  delete out.core;
  return { ...core, ...out };
}

/** Edit distance of two short strings (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0;
      row[j] = Math.min(cur + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] ?? 0;
}

/** The known key closest to `key`, when it is close enough to be a typo. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.k : undefined;
}

/** Keys the schema knows at `path` (top level or one section). */
function knownKeys(path: PropertyKey[]): string[] {
  const shape = fileSchema.shape as Record<string, z.ZodType>;
  if (path.length === 0) return Object.keys(shape);
  let section: unknown = shape[String(path[0])];
  while (section && typeof section === "object" && "unwrap" in section && typeof (section as { unwrap: unknown }).unwrap === "function") section = (section as { unwrap(): unknown }).unwrap();
  const inner = (section as { shape?: Record<string, unknown> } | undefined)?.shape;
  return inner ? Object.keys(inner) : [];
}

/** What a value of the expected type looks like, for "expected a number" messages. */
function expectedText(issue: z.core.$ZodIssue): string {
  if (issue.code !== "invalid_type") return issue.message;
  const expected = String((issue as { expected?: unknown }).expected);
  const example = expected === "number" ? " (e.g. 16)" : expected === "boolean" ? " (true or false)" : expected === "array" ? ' (e.g. ["default"])' : "";
  return `must be a ${expected}${example}`;
}

function describe(issue: z.core.$ZodIssue, source: string): string {
  const key = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(issue.path);
    return `${source}: unknown ${issue.keys.length === 1 ? "key" : "keys"} ${issue.keys.map((k) => {
      const hint = suggestKey(k, known);
      return `"${[...issue.path, k].join(".")}"${hint ? ` (did you mean "${[...issue.path, hint].join(".")}"?)` : ""}`;
    }).join(", ")}; remove them or check the spelling`;
  }
  return `${source}: "${key}" ${expectedText(issue)}`;
}

function parseWith(data: unknown, source: string): FileConfig {
  const result = fileSchema.safeParse(data);
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => describe(i, source)).join("; "));
  return result.data;
}

/** Loads the configuration of the project around `cwd`: defaults < config file < AIRLOCK__* variables. */
export async function loadConfig(options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<AirlockConfig> {
  const env = options.env ?? process.env;
  const projectDir = findProjectDir(options.cwd ?? process.cwd());
  const found = await readConfigFile(projectDir);
  const fromFile = found ? parseWith(found.data, path.basename(found.file)) : {};
  const fromEnv = parseWith(envOverrides(env), "AIRLOCK__* environment variables");
  const merged: FileConfig = { ...fromFile, ...fromEnv };
  for (const section of ["api", "logs", "scheduler", "executor", "docker", "kubernetes", "datasets", "secrets", "cli"] as const) {
    (merged as Record<string, unknown>)[section] = { ...(fromFile[section] ?? {}), ...(fromEnv[section] ?? {}) };
  }
  const abs = (p: string) => path.resolve(projectDir, p);
  const stateDir = abs(merged.stateDir ?? ".airlock");
  const tokens: ApiToken[] = [...(merged.api?.tokens ?? [])];
  if (merged.api?.token) tokens.push({ token: merged.api.token, role: "admin", name: "api.token" });
  const store = merged.store ?? `sqlite:${path.join(stateDir, "airlock.db")}`;
  if (!store.startsWith("sqlite:") && !/^postgres(ql)?:\/\//.test(store)) {
    throw new ConfigError(`store "${redactUrl(store)}" is not supported: use "sqlite:<path>" or a postgres:// URL`);
  }
  const heartbeatMs = merged.executor?.heartbeatMs ?? 5000;
  const workerTimeoutMs = merged.executor?.workerTimeoutMs ?? 15_000;
  if (workerTimeoutMs < 2 * heartbeatMs) {
    throw new ConfigError(`executor.workerTimeoutMs (${workerTimeoutMs}) must be at least twice executor.heartbeatMs (${heartbeatMs}), or live workers would be declared lost; raise workerTimeoutMs or lower heartbeatMs`);
  }
  return {
    projectDir,
    dagsFolder: abs(merged.dagsFolder ?? "dags"),
    environmentsFolder: abs(merged.environmentsFolder ?? "environments"),
    stateDir,
    store: store.startsWith("sqlite:") ? `sqlite:${abs(store.slice("sqlite:".length))}` : store,
    defaultBackend: merged.defaultBackend ?? "process",
    project: merged.project ?? (path.basename(projectDir).toLowerCase().replace(/[^a-z0-9._-]/g, "-").replace(/^[^a-z0-9]+/, "") || "airlock"),
    api: {
      host: merged.api?.host ?? "127.0.0.1",
      port: merged.api?.port ?? 8080,
      tokens,
      maxBodyBytes: merged.api?.maxBodyBytes ?? 1024 * 1024,
      allowedHosts: merged.api?.allowedHosts ?? null,
    },
    logs: { maxBytesPerTry: merged.logs?.maxBytesPerTry ?? 100 * 1024 * 1024 },
    scheduler: {
      parseIntervalMs: merged.scheduler?.parseIntervalMs ?? 2000,
      pollIntervalMs: merged.scheduler?.pollIntervalMs ?? 1000,
      parseTimeoutMs: merged.scheduler?.parseTimeoutMs ?? 30_000,
      parseMemoryMiB: merged.scheduler?.parseMemoryMiB ?? 1024,
      dagsArePausedAtCreation: merged.scheduler?.dagsArePausedAtCreation ?? true,
      catchupConfirmAbove: merged.scheduler?.catchupConfirmAbove ?? 25,
      leaseMs: merged.scheduler?.leaseMs ?? 5000,
    },
    executor: {
      parallelism: merged.executor?.parallelism ?? 16,
      queues: merged.executor?.queues ?? ["default"],
      heartbeatMs: merged.executor?.heartbeatMs ?? 5000,
      workerTimeoutMs: merged.executor?.workerTimeoutMs ?? 15_000,
      fallbackAfterMs: merged.executor?.fallbackAfterMs ?? 30_000,
      hostname: merged.executor?.hostname ?? os.hostname(),
      warmLaunch: warmLaunchOf(merged.executor?.warmLaunch),
    },
    docker: {
      socketPath: merged.docker?.socketPath ?? null,
      host: merged.docker?.host ?? env.DOCKER_HOST ?? null,
      registry: merged.docker?.registry ?? null,
      baseImage: merged.docker?.baseImage ?? null,
    },
    kubernetes: {
      kubeconfig: merged.kubernetes?.kubeconfig ? abs(merged.kubernetes.kubeconfig) : null,
      context: merged.kubernetes?.context ?? null,
      namespace: merged.kubernetes?.namespace ?? "default",
      registry: merged.kubernetes?.registry ?? null,
      imagePullSecrets: merged.kubernetes?.imagePullSecrets ?? [],
      serviceAccountName: merged.kubernetes?.serviceAccountName ?? null,
      podTemplate: merged.kubernetes?.podTemplate ? abs(merged.kubernetes.podTemplate) : null,
      startupTimeoutMs: merged.kubernetes?.startupTimeout ?? 300_000,
      onFinish: merged.kubernetes?.onFinish ?? "delete",
      profiles: merged.kubernetes?.profiles ?? {},
    },
    datasets: {
      artifacts: merged.datasets?.artifacts?.startsWith("s3://") ? merged.datasets.artifacts : abs(merged.datasets?.artifacts ?? path.join(stateDir, "datasets")),
      s3Endpoint: merged.datasets?.s3Endpoint ?? env.AWS_ENDPOINT_URL ?? null,
      s3Region: merged.datasets?.s3Region ?? env.AWS_REGION ?? "us-east-1",
      s3AccessKeyId: merged.datasets?.s3AccessKeyId ?? env.AWS_ACCESS_KEY_ID ?? null,
      s3SecretAccessKey: merged.datasets?.s3SecretAccessKey ?? env.AWS_SECRET_ACCESS_KEY ?? null,
    },
    secrets: { key: merged.secrets?.key ?? null },
    cli: { apiUrl: merged.cli?.apiUrl ?? null, token: merged.cli?.token ?? null },
  };
}

/** `executor.warmLaunch` with defaults filled in (a boolean sets `enabled` only). */
function warmLaunchOf(v: boolean | Partial<WarmLaunchSettings> | undefined): WarmLaunchSettings {
  if (typeof v === "boolean") return { ...WARM_LAUNCH_DEFAULTS, enabled: v };
  return { ...WARM_LAUNCH_DEFAULTS, ...v };
}

/** Hides the password of a URL for messages; everything up to the last `@` of the authority is the password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):.*@/, "//$1:***@");
}
