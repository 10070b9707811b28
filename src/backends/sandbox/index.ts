/**
 * The `sandbox` backend: each try runs the runner under bubblewrap in fresh namespaces, in its own cgroup with
 * memory, pids and CPU limits. It sees the system read-only, its environment and runtime read-only, the
 * Airlock runner read-only, the files it was granted read-only and one writable scratch directory — no store,
 * config, secrets, logs or DAG folder, and no network unless granted.
 * There is deliberately no --die-with-parent: tries survive an orchestrator restart and are adopted; they are
 * killed through their cgroup and process group instead.
 */
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { AirlockConfig } from "../../config/config.js";
import { AIRLOCK_DIST } from "../../core/install.js";
import { UserError } from "../../core/errors.js";
import { loadEnvironmentSpec } from "../../environments/spec.js";
import { mergeResources, parseMemory, scratchBytes } from "../../environments/resources.js";
import type { Resources } from "../../sdk/types.js";
import { adoptProcess, spawnTry } from "../process/spawn.js";
import { DEFAULT_PIDS_LIMIT, type Backend, type ExitInfo, type LaunchRequest, type RunningTry, type TryHandle } from "../types.js";
import { BWRAP_INSTALL_HINT, bwrapArgs, bwrapVersion, runtimeMounts, sandboxSmokeTest, type SandboxSpec } from "./bwrap.js";
import { CgroupError, JOIN_FAILED, createTryCgroup, detectCgroups, isOurCgroup, joinCgroupCommand, killTryCgroup, oomDetail, removeTryCgroup, type CgroupSystem, type TryCgroup } from "./cgroups.js";
import { describeSetupFailure } from "./diagnose.js";
import { seccompProgram } from "./seccomp.js";
import { sandboxEnv } from "./task-env.js";
import { hostPythonFor, isPythonTask, PYTHON_FLAGS, pythonRunnerPath } from "../python-runner.js";
import type { WarmLaunchSettings } from "../../config/warm-launch.js";
import { WarmPool } from "../warm/pool.js";
import { WarmHandOverError, WarmProcess } from "../warm/warm-process.js";
import { handOverSandbox, sdkPreload, warmKey, warmLayout, type SandboxPlan } from "./warm.js";
import { ReusePool } from "../reuse/pool.js";
import { ReusedRunnerError } from "../reuse/runner.js";
import { reusedSandboxSpec, sweepDeadRunnerDirs, type SandboxKit } from "./reuse.js";

/** Options of the sandbox backend. */
export interface SandboxOptions {
  /** Cgroup folder (relative to each hierarchy's root) under which try cgroups are made. @default "airlock" */
  cgroupParent?: string;
  /** Process limit of tries that set none (a fork bomb stops here). @default 1024 */
  defaultPids?: number;
  /** User id tasks run as inside the sandbox. @default 65534 (nobody) */
  uid?: number;
  /** Built Airlock files (runner.mjs, runner-hooks.mjs, sdk/). @default this installation's dist */
  distDir?: string;
  /** Install the seccomp filter (seccomp.ts) in every sandbox (x86_64 and aarch64). @default true */
  seccomp?: boolean;
  /** Warm launch (executor.warmLaunch); off when absent. Its idleMs also ends idle reused sandboxes. */
  warm?: WarmLaunchSettings | null;
  /** Tries run at once (executor.parallelism): reused sandboxes kept idle per key. @default 8 */
  parallelism?: number;
}

/** The child's descriptor carrying the seccomp filter to bwrap. */
const SECCOMP_FD = 4;

/** The sandbox backend's handle: the process identity plus the cgroup, for adoption after a restart. */
export interface SandboxHandle extends TryHandle {
  cgroup: TryCgroup | null;
}

/** The sandbox backend with its warm pool (null when warm launch is off), for tests and the bench. */
export interface SandboxBackend extends Backend {
  readonly warmPool: WarmPool | null;
  /** Long-lived sandboxes of tries that declared `reuse: true` (see reuse.ts). */
  readonly reusePool: ReusePool;
  /** Starts sandboxes for tries like `request` ahead of demand (what a first launch of its kind does). */
  prewarm(request: LaunchRequest): void;
}

/** Creates the sandbox backend for a project. */
export function createSandboxBackend(config: Pick<AirlockConfig, "environmentsFolder" | "projectDir" | "stateDir">, options: SandboxOptions = {}): SandboxBackend {
  const cgroupParent = options.cgroupParent ?? "airlock";
  const defaultPids = options.defaultPids ?? DEFAULT_PIDS_LIMIT;
  const cgroups = process.platform === "linux" ? detectCgroups() : null;
  const dist = options.distDir ?? AIRLOCK_DIST;
  const runner = path.join(dist, "runner.mjs");
  const seccomp = options.seccomp === false ? null : seccompProgram();
  const pool = options.warm?.enabled && process.platform === "linux"
    ? new WarmPool(options.warm, path.join(config.stateDir, "warm", "sandbox"), (dir) => void removeStaleCgroup(dir, cgroups, cgroupParent))
    : null;
  /** How any sandbox of this backend is made, for reused sandboxes (reuse.ts). */
  const kit: SandboxKit = {
    config, dist, uid: options.uid, seccompFd: SECCOMP_FD, makeCgroup, seccompPath, baseReadOnly, wrapped, finish: (c, r) => finish(c, r),
    identityFiles: () => identityFiles(config.stateDir),
    runnerCommand: (p, request) => runnerCommand(p, false, request),
  };
  const reusePool = new ReusePool({ idleMs: options.warm?.idleMs ?? 60_000, maxIdlePerKey: Math.max(1, options.parallelism ?? 8) });
  // Folders and cgroups of reused sandboxes of orchestrators that died (their sandboxes ended with them).
  const swept = process.platform === "linux" ? sweepDeadRunnerDirs(config, (dir) => removeStaleCgroup(dir, cgroups, cgroupParent)) : Promise.resolve();

  const finish = (cgroup: TryCgroup | null, request: Pick<LaunchRequest, "rawLogPath" | "eventsPath">) => async (info: ExitInfo): Promise<ExitInfo> => {
    let out = info;
    if (cgroup) {
      const oom = oomDetail(cgroup);
      if (oom) out = { ...out, oomKilled: true, detail: oom };
      await removeTryCgroup(cgroup);
    }
    if (!out.oomKilled && out.code === JOIN_FAILED && cgroup) out = { ...out, detail: "the try could not join its cgroup" };
    else if (!out.oomKilled && out.code !== 0) {
      const setup = describeSetupFailure(request.rawLogPath, request.eventsPath);
      if (setup) out = { ...out, detail: setup };
    }
    return out;
  };

  return {
    name: "sandbox",

    async check() {
      if (process.platform !== "linux") return { ok: false, hint: "the sandbox backend needs Linux (bubblewrap); use the docker or process backend here" };
      if (!bwrapVersion()) return { ok: false, hint: BWRAP_INSTALL_HINT };
      const complaint = sandboxSmokeTest();
      if (complaint) {
        return { ok: false, hint: `bubblewrap cannot create a sandbox here (${complaint}); allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0) or run the orchestrator as root` };
      }
      if (!existsSync(runner)) return { ok: false, hint: `the runner ${runner} is missing; run "npm run build"` };
      return { ok: true };
    },

    warmPool: pool,

    prewarm(request) {
      const p = planOf(request);
      const key = warmKey(config, request, p);
      if (pool && key) pool.want(key, (dir) => startWarm(dir, request, p));
    },

    reusePool,

    async launch(request) {
      const p = planOf(request);
      mkdirSync(request.scratchDir, { recursive: true });
      let reuseSkipped: string | null = null;
      if (request.reuse) {
        const key = p.python ? null : warmKey(config, request, p);
        if (key) {
          await swept;
          try {
            return await reusePool.launch(`reuse:${key}`, () => reusedSandboxSpec(kit, request, p), request);
          } catch (err) {
            if (!(err instanceof ReusedRunnerError)) throw err;
            reuseSkipped = `reuse: true could not be honoured (${err.message}): this try ran in a sandbox of its own`;
          }
        } else {
          reuseSkipped = `reuse: true does not apply to ${p.python ? "python tasks" : "tries that read dataset inputs, a code folder or files granted by hand"} on the sandbox backend: this try ran in a sandbox of its own`;
        }
      }
      const fresh = await launchFresh(request, p);
      if (reuseSkipped) fresh.handle.reuseSkipped = reuseSkipped;
      return fresh;
    },

    async adopt(handle, request): Promise<RunningTry | null> {
      const cgroup = isOurCgroup(handle.cgroup, cgroups, cgroupParent) ? handle.cgroup : null;
      if (handle.reused === true) {
        // A reused sandbox ends with the orchestrator that started it (its stdin closes): its try cannot be adopted.
        if (cgroup) {
          await killTryCgroup(cgroup);
          await removeTryCgroup(cgroup);
        }
        return null;
      }
      const running = adoptProcess(handle, {
        onKill: async () => {
          if (cgroup) await killTryCgroup(cgroup);
        },
        onExit: finish(cgroup, request),
      });
      if (!running && cgroup) await removeTryCgroup(cgroup);
      return running;
    },

    async close() {
      await Promise.all([pool?.close(), reusePool.close(), swept]);
    },
  };

/** A try in a sandbox of its own: a warm one when one waits for its key, else one started now. */
async function launchFresh(request: LaunchRequest, p: SandboxPlan): Promise<RunningTry> {
    if (pool) {
      const key = warmKey(config, request, p);
      const slot = key ? pool.take(key) : null;
      // The replacement starts after the hand-over: a spawn blocks this process for milliseconds.
      if (key) setImmediate(() => pool.want(key, (dir) => startWarm(dir, request, p)));
      if (slot) {
        try {
          return await handOverSandbox(slot, request);
        } catch (err) {
          if (!(err instanceof WarmHandOverError)) throw err;
          // The try launches cold instead.
        }
      }
    }
    const cgroup = makeCgroup(cgroupName(request), p.resources);
    // bwrap reads the filter from this descriptor (fd 4 of the child: after stdin, output, output and events).
    const seccompFile = seccompPath();
    const spec: SandboxSpec = {
      readOnly: [...baseReadOnly(p, request), ...request.readablePaths],
      writable: [request.scratchDir],
      files: [...identityFiles(config.stateDir), ...sdkFiles(config.stateDir, dist, request.payload.dagModule)],
      network: p.network,
      cwd: request.scratchDir,
      uid: options.uid,
      gid: options.uid,
      ...(seccompFile ? { seccompFd: SECCOMP_FD } : {}),
      // /tmp is memory (counted in the try's memory limit); bounded like the scratch directory.
      tmpBytes: scratchBytes(p.resources),
      command: runnerCommand(p, false, request),
    };
    const [command, ...args] = wrapped(cgroup, spec);
    try {
      return await spawnTry(command as string, args, {
        env: sandboxEnv(request, p.node),
        cwd: request.scratchDir,
        request,
        backend: "sandbox",
        extraHandle: { cgroup },
        ...(seccompFile ? { extraFds: [openSync(seccompFile, "r")] } : {}),
        onKill: async () => {
          if (cgroup) await killTryCgroup(cgroup);
        },
        onExit: finish(cgroup, request),
      });
    } catch (err) {
      if (cgroup) await removeTryCgroup(cgroup);
      throw err;
    }
  }

  /** What a try of `request` runs with: limits and network (the environment's defaults under the task's own). */
  function planOf(request: LaunchRequest): SandboxPlan {
    const defaults = environmentDefaults(config, request);
    return {
      resources: mergeResources(request.resources, defaults.resources),
      network: request.network === "host" || defaults.network === "host" ? "host" : "none",
      node: request.environment?.nodeBinary ?? process.execPath,
      python: isPythonTask(request.payload) ? hostPythonFor(request.environment, request.key.taskId) : null,
      uid: options.uid,
    };
  }

  /** What every sandbox of a plan sees read-only: the runner, the runtime, the environment. */
  function baseReadOnly(p: SandboxPlan, request: Pick<LaunchRequest, "environment">): string[] {
    return [...runnerPaths(dist), ...(p.python ? p.python.mounts : runtimeMounts(p.node, request.environment?.nodeBinary != null)),
      ...(request.environment ? [request.environment.root] : [])];
  }

  function runnerCommand(p: SandboxPlan, warm: boolean, request: LaunchRequest): string[] {
    const extra = warm ? ["--warm"] : [];
    return p.python ? [p.python.binary, ...PYTHON_FLAGS, pythonRunnerPath(dist), ...extra] : [p.node, runner, sdkPreload(config, request), ...extra];
  }

  /** The command line: bwrap, behind a wrapper that first joins the cgroup (nothing of the try runs outside it). */
  function wrapped(cgroup: TryCgroup | null, spec: SandboxSpec): string[] {
    const bwrap = ["bwrap", ...bwrapArgs(spec)];
    return cgroup ? joinCgroupCommand(cgroup, bwrap, "airlock-sandbox") : bwrap;
  }

  /** Starts a sandbox like the one `request` would get, waiting for a try of the same key (see warm.ts). */
  function startWarm(dir: string, request: LaunchRequest, p: SandboxPlan): WarmProcess {
    const layout = warmLayout(config, dir, request, dist);
    const cgroup = makeCgroup(`warm.${Math.random().toString(36).slice(2, 10)}`, p.resources);
    if (cgroup) writeFileSync(path.join(dir, "cgroup.json"), JSON.stringify(cgroup));
    const seccompFile = seccompPath();
    const spec: SandboxSpec = {
      readOnly: baseReadOnly(p, request),
      writable: [layout.scratch],
      mapped: layout.mapped,
      files: identityFiles(config.stateDir),
      network: p.network,
      cwd: layout.scratch,
      uid: options.uid,
      gid: options.uid,
      ...(seccompFile ? { seccompFd: SECCOMP_FD } : {}),
      tmpBytes: scratchBytes(p.resources),
      command: runnerCommand(p, true, request),
    };
    const [command, ...args] = wrapped(cgroup, spec);
    try {
      return WarmProcess.start({
        command: command as string, args, env: sandboxEnv({ scratchDir: layout.scratch, environment: request.environment }, p.node),
        cwd: layout.scratch, backend: "sandbox", dir, extraHandle: { cgroup }, waitReady: true,
        ...(seccompFile ? { extraFd: openSync(seccompFile, "r") } : {}),
        onKill: async () => {
          if (cgroup) await killTryCgroup(cgroup);
        },
        onExit: (info, taken) => finish(cgroup, taken ?? { rawLogPath: path.join(dir, "output.log"), eventsPath: path.join(dir, "events.ndjson") })(info),
      });
    } catch (err) {
      if (cgroup) void removeTryCgroup(cgroup);
      throw err;
    }
  }

  /** The seccomp filter's file, written once per architecture; null when the filter is off. */
  function seccompPath(): string | null {
    return seccomp ? sandboxFile(config.stateDir, `seccomp-${process.arch}.bpf`, seccomp) : null;
  }

  function makeCgroup(name: string, resources: Resources | null): TryCgroup | null {
    const limits = {
      memoryBytes: resources?.memory !== undefined ? parseMemory(resources.memory) : undefined,
      cpu: resources?.cpu,
      pids: resources?.pids ?? defaultPids,
    };
    const wanted = resources !== null && Object.keys(resources).length > 0;
    if (!cgroups) {
      if (wanted) throw new UserError("unavailable", "resource limits need cgroups, and none are mounted here", "mount the cgroup hierarchies (v1 or v2), or drop the task's resources");
      return null;
    }
    try {
      return createTryCgroup(cgroups, cgroupParent, name, limits);
    } catch (err) {
      // Without limits to enforce, a sandbox without a cgroup is still a sandbox (its pid namespace ends with it).
      if (!wanted && err instanceof CgroupError) return null;
      throw new UserError("unavailable", (err as Error).message, "run the orchestrator as root, or delegate a cgroup to it and set the sandbox cgroup parent", { cause: err });
    }
  }
}

/** The spec's default resources and network for the try's environment (a task's own settings win). */
function environmentDefaults(config: Pick<AirlockConfig, "environmentsFolder" | "projectDir">, request: LaunchRequest): { resources: Resources | null; network: "none" | "host" } {
  if (!request.environment) return { resources: null, network: "none" };
  try {
    const spec = loadEnvironmentSpec(config, request.environment.name);
    return { resources: spec.resources, network: spec.network };
  } catch {
    // The executor built this environment moments ago; a spec edited since only loses its defaults.
    return { resources: null, network: "none" };
  }
}

/** The runner, its module hooks and the SDK it resolves "airlock" to; nothing else of the installation. */
function runnerPaths(dist: string): string[] {
  return ["runner.mjs", "runner-hooks.mjs", "runner-chunks", "sdk", "runner-python"].map((p) => path.join(dist, p)).filter((p) => existsSync(p));
}

/**
 * What makes the SDK importable in the sandbox without the installation around it:
 * - a package.json marking dist/ as ES modules (the installation's own, one folder up, is not mounted; Node 18
 *   would otherwise read dist/sdk as CommonJS);
 * - a minimal "airlock" package next to the DAG module, so its `import "airlock"` resolves by plain Node
 *   resolution, as outside, without resolution hooks (a loader thread per try).
 */
function sdkFiles(stateDir: string, dist: string, dagModule: string | null): Array<[string, string]> {
  const sdk = path.join(dist, "sdk");
  if (!existsSync(sdk)) return [];
  const scope = sandboxFile(stateDir, "esm-package.json", `${JSON.stringify({ type: "module" })}\n`);
  const files: Array<[string, string]> = [[scope, path.join(dist, "package.json")]];
  if (dagModule) {
    const manifest = sandboxFile(stateDir, "airlock-package.json", `${JSON.stringify({ name: "airlock", type: "module", exports: { ".": "./dist/sdk/index.js" } })}\n`);
    const target = path.join(path.dirname(dagModule), "node_modules", "airlock");
    files.push([manifest, path.join(target, "package.json")], [sdk, path.join(target, "dist", "sdk")]);
  }
  return files;
}

/** Minimal passwd and group files, so programs that look up their user find one. */
function identityFiles(stateDir: string): Array<[string, string]> {
  return [
    [sandboxFile(stateDir, "passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"), "/etc/passwd"],
    [sandboxFile(stateDir, "group", "root:x:0:\nnogroup:x:65534:\n"), "/etc/group"],
  ];
}

/** A file of <stateDir>/sandbox/ with fixed content, written once (atomically, as tries may start at once). */
function sandboxFile(stateDir: string, name: string, content: string | Buffer): string {
  const file = path.join(stateDir, "sandbox", name);
  try {
    if (Buffer.from(content).equals(readFileSync(file))) return file;
  } catch {
    // not written yet
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
  return file;
}

/** A cgroup a crashed orchestrator's warm sandbox left (its runner ended with the orchestrator): removed. */
async function removeStaleCgroup(dir: string, system: CgroupSystem | null, parent: string): Promise<void> {
  try {
    const cgroup = JSON.parse(readFileSync(path.join(dir, "cgroup.json"), "utf8")) as unknown;
    if (!isOurCgroup(cgroup, system, parent)) return;
    await killTryCgroup(cgroup);
    await removeTryCgroup(cgroup);
  } catch {
    // No cgroup recorded.
  }
}

function cgroupName(request: LaunchRequest): string {
  const { dagId, taskId, tryNumber } = request.key;
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 60);
  return `${clean(dagId)}.${clean(taskId)}.${tryNumber}.${Math.random().toString(36).slice(2, 8)}`;
}
