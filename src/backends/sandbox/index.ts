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
import { CgroupError, JOIN_FAILED, createTryCgroup, detectCgroups, isOurCgroup, joinCgroupCommand, killTryCgroup, oomDetail, removeTryCgroup, type TryCgroup } from "./cgroups.js";
import { describeSetupFailure } from "./diagnose.js";
import { seccompProgram } from "./seccomp.js";
import { sandboxEnv } from "./task-env.js";
import { hostPythonFor, isPythonTask, PYTHON_FLAGS, pythonRunnerPath } from "../python-runner.js";

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
}

/** The child's descriptor carrying the seccomp filter to bwrap. */
const SECCOMP_FD = 4;

/** The sandbox backend's handle: the process identity plus the cgroup, for adoption after a restart. */
export interface SandboxHandle extends TryHandle {
  cgroup: TryCgroup | null;
}

/** Creates the sandbox backend for a project. */
export function createSandboxBackend(config: Pick<AirlockConfig, "environmentsFolder" | "projectDir" | "stateDir">, options: SandboxOptions = {}): Backend {
  const cgroupParent = options.cgroupParent ?? "airlock";
  const defaultPids = options.defaultPids ?? DEFAULT_PIDS_LIMIT;
  const cgroups = process.platform === "linux" ? detectCgroups() : null;
  const dist = options.distDir ?? AIRLOCK_DIST;
  const runner = path.join(dist, "runner.mjs");
  const seccomp = options.seccomp === false ? null : seccompProgram();

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

    async launch(request) {
      const defaults = environmentDefaults(config, request);
      const resources = mergeResources(request.resources, defaults.resources);
      const network = request.network === "host" || defaults.network === "host" ? "host" : "none";
      const node = request.environment?.nodeBinary ?? process.execPath;
      const python = isPythonTask(request.payload) ? hostPythonFor(request.environment, request.key.taskId) : null;
      mkdirSync(request.scratchDir, { recursive: true });

      const cgroup = makeCgroup(request, resources);
      // bwrap reads the filter from this descriptor (fd 4 of the child: after stdin, output, output and events).
      const seccompFile = seccomp ? sandboxFile(config.stateDir, `seccomp-${process.arch}.bpf`, seccomp) : null;
      const spec: SandboxSpec = {
        readOnly: [...runnerPaths(dist), ...(python ? python.mounts : runtimeMounts(node, request.environment?.nodeBinary != null)),
          ...(request.environment ? [request.environment.root] : []), ...request.readablePaths],
        writable: [request.scratchDir],
        files: [...identityFiles(config.stateDir), ...sdkFiles(config.stateDir, dist, request.payload.dagModule)],
        network,
        cwd: request.scratchDir,
        uid: options.uid,
        gid: options.uid,
        ...(seccomp ? { seccompFd: SECCOMP_FD } : {}),
        // /tmp is memory (counted in the try's memory limit); bounded like the scratch directory.
        tmpBytes: scratchBytes(resources),
        command: python ? [python.binary, ...PYTHON_FLAGS, pythonRunnerPath(dist)] : [node, runner],
      };
      const bwrap = ["bwrap", ...bwrapArgs(spec)];
      // The wrapper joins the cgroup and then execs bwrap, so nothing of the try ever runs outside it.
      const [command, ...args] = cgroup ? joinCgroupCommand(cgroup, bwrap, "airlock-sandbox") : bwrap;
      try {
        return await spawnTry(command as string, args, {
          env: sandboxEnv(request, node),
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
    },

    async adopt(handle, request): Promise<RunningTry | null> {
      const cgroup = isOurCgroup(handle.cgroup, cgroups, cgroupParent) ? handle.cgroup : null;
      const running = adoptProcess(handle, {
        onKill: async () => {
          if (cgroup) await killTryCgroup(cgroup);
        },
        onExit: finish(cgroup, request),
      });
      if (!running && cgroup) await removeTryCgroup(cgroup);
      return running;
    },

    async close() {},
  };

  function makeCgroup(request: LaunchRequest, resources: Resources | null): TryCgroup | null {
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
      return createTryCgroup(cgroups, cgroupParent, cgroupName(request), limits);
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

function cgroupName(request: LaunchRequest): string {
  const { dagId, taskId, tryNumber } = request.key;
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 60);
  return `${clean(dagId)}.${clean(taskId)}.${tryNumber}.${Math.random().toString(36).slice(2, 8)}`;
}
