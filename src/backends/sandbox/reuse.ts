/**
 * Reused sandboxes (`reuse: true` on the sandbox backend): one long-lived sandbox per key runs a reused runner
 * (src/runner/reuse.ts) that serves the tries of that key one after another. The sandbox is made exactly like a
 * warm one (warm.ts): the same namespaces, seccomp filter, read-only binds and one cgroup with the key's limits; its
 * mounts are fixed when it starts, so it binds folders of its own where a try's paths live:
 * - `<runner>/mod` and `<runner>/xcom` read-only at the folders of compiled DAG modules and XCom files: before each
 *   try its module and XCom files are hard-linked in (the paths a fresh sandbox shows), and taken out after it;
 * - `<runner>/scratch` writable: each try's scratch folder (HOME, TMPDIR, working directory) is moved in as a
 *   subfolder of its own for the try, and moved back to where the supervisor looks for it after the try (the host
 *   side sees it through a symlink meanwhile), so nothing of an earlier try is left in the sandbox.
 * A sandbox binds only its own runner folder: tries never see the folders of other runners. Events travel on stdout
 * tagged with each try's nonce, as on the process backend.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { copyFile, link, mkdir, readdir, rename, rm, symlink, unlink } from "node:fs/promises";
import path from "node:path";
import type { AirlockConfig } from "../../config/config.js";
import type { TaskPayload } from "../../runner/protocol.js";
import type { Resources } from "../../sdk/types.js";
import { scratchBytes } from "../../environments/resources.js";
import { pidExists } from "../process/proc.js";
import type { ReusedRunnerSpec } from "../reuse/runner.js";
import type { ExitInfo, LaunchRequest } from "../types.js";
import type { SandboxSpec } from "./bwrap.js";
import { killTryCgroup, removeTryCgroup, type TryCgroup } from "./cgroups.js";
import { sandboxEnv } from "./task-env.js";
import { warmLayout, type SandboxPlan } from "./warm.js";

/** How the sandbox backend makes any of its sandboxes (index.ts), lent to reused ones. */
export interface SandboxKit {
  config: Pick<AirlockConfig, "stateDir">;
  dist: string;
  uid: number | undefined;
  /** The descriptor number bwrap reads the seccomp filter from. */
  seccompFd: number;
  makeCgroup(name: string, resources: Resources | null): TryCgroup | null;
  /** The seccomp filter's file, or null when the filter is off. */
  seccompPath(): string | null;
  baseReadOnly(p: SandboxPlan, request: Pick<LaunchRequest, "environment">): string[];
  identityFiles(): Array<[string, string]>;
  runnerCommand(p: SandboxPlan, request: LaunchRequest): string[];
  /** bwrap's command line behind the wrapper that joins the cgroup. */
  wrapped(cgroup: TryCgroup | null, spec: SandboxSpec): string[];
  finish(cgroup: TryCgroup | null, request: Pick<LaunchRequest, "rawLogPath" | "eventsPath">): (info: ExitInfo) => Promise<ExitInfo>;
}

/**
 * A long-lived sandbox for tries like `request`: made like a warm one (same binds, namespaces, seccomp filter, and
 * one cgroup with the key's limits for its whole life), running the runner with `--reuse`.
 */
export function reusedSandboxSpec(kit: SandboxKit, request: LaunchRequest, p: SandboxPlan): ReusedRunnerSpec {
  const dir = newRunnerDir(kit.config);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const layout = warmLayout(kit.config, dir, request, kit.dist);
  let cgroup: TryCgroup | null = null;
  let seccompFd: number | null = null;
  try {
    cgroup = kit.makeCgroup(`reuse.${Math.random().toString(36).slice(2, 10)}`, p.resources);
    if (cgroup) writeFileSync(path.join(dir, "cgroup.json"), JSON.stringify(cgroup));
    const seccompFile = kit.seccompPath();
    const spec: SandboxSpec = {
      readOnly: kit.baseReadOnly(p, request),
      writable: [layout.scratch],
      mapped: layout.mapped,
      files: kit.identityFiles(),
      network: p.network,
      cwd: layout.scratch,
      uid: kit.uid,
      gid: kit.uid,
      ...(seccompFile ? { seccompFd: kit.seccompFd } : {}),
      tmpBytes: scratchBytes(p.resources),
      command: [...kit.runnerCommand(p, request), "--reuse", "--scrub-tmp"],
    };
    seccompFd = seccompFile ? openSync(seccompFile, "r") : null;
    const held = cgroup;
    return {
      // stderr joins stdout (bwrap's complaints too), so a try's output and events stay in the order they were written.
      argv: ["/bin/sh", "-c", 'unset PWD; exec "$@" 2>&1', "airlock-reuse", ...kit.wrapped(cgroup, spec)],
      env: sandboxEnv({ scratchDir: layout.scratch, environment: request.environment }, p.node),
      cwd: layout.scratch,
      backend: "sandbox",
      // Inside the sandbox nothing can escape its pid namespace and cgroup: no marker in the task's environment.
      mark: false,
      ...(seccompFd !== null ? { extraFds: [seccompFd] } : {}),
      extraHandle: { cgroup },
      onKill: async () => {
        if (held) await killTryCgroup(held);
      },
      onExit: (info, during) => kit.finish(held, during ?? { rawLogPath: path.join(dir, "none.log"), eventsPath: path.join(dir, "none.ndjson") })(info),
      prepare: (r) => prepareTry(dir, layout.scratch, r),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    if (seccompFd !== null) closeSync(seccompFd);
    if (cgroup) void removeTryCgroup(cgroup);
    void rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The folder of reused sandboxes' runner folders: `<state>/reuse/sandbox/<orchestrator pid>-<random>`. */
export function reuseRoot(config: Pick<AirlockConfig, "stateDir">): string {
  return path.join(config.stateDir, "reuse", "sandbox");
}

/** A new runner folder (mode 0700), named after this orchestrator's pid so a later one can sweep it when it died. */
export function newRunnerDir(config: Pick<AirlockConfig, "stateDir">): string {
  return path.join(reuseRoot(config), `${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/**
 * Runner folders of orchestrators that are gone (their sandboxes ended with them: stdin closed): `release` gets
 * each one's folder (to remove its cgroup) before the folder is removed.
 */
export async function sweepDeadRunnerDirs(config: Pick<AirlockConfig, "stateDir">, release: (dir: string) => Promise<void>): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(reuseRoot(config));
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = Number(name.split("-")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || pidExists(pid)) continue;
    const dir = path.join(reuseRoot(config), name);
    await release(dir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** What a try was given in a reused sandbox, to take back after it. */
interface Given {
  links: string[];
  inside: string;
  scratchRoot: string;
}

/**
 * Makes a reused sandbox (runner folder `dir`, its scratch root bound at `scratchRoot`) ready for `request`: the
 * try's readable files linked in, its scratch folder moved in. Returns the payload (its scratch folder where the
 * sandbox sees it) and `done`, which takes everything back.
 */
export async function prepareTry(dir: string, scratchRoot: string, request: LaunchRequest): Promise<{ payload: TaskPayload; done: () => Promise<void> }> {
  const given: Given = { links: [], inside: path.join(scratchRoot, `try-${Math.random().toString(36).slice(2, 10)}`), scratchRoot };
  try {
    for (const p of request.readablePaths) {
      const into = p === request.payload.dagModule ? path.join(dir, "mod") : path.join(dir, "xcom");
      const to = path.join(into, path.basename(p));
      await linkOrCopy(p, to);
      given.links.push(to);
    }
    await mkdir(request.scratchDir, { recursive: true });
    await rename(request.scratchDir, given.inside);
    // The supervisor measures the scratch folder and reads results from it where the request says.
    await symlink(given.inside, request.scratchDir);
  } catch (err) {
    await takeBack(given, request.scratchDir);
    throw err;
  }
  const payload = { ...request.payload, context: { ...request.payload.context, scratchDir: given.inside } };
  return { payload, done: () => takeBack(given, request.scratchDir) };
}

/**
 * Unlinks the try's files, moves its scratch folder back to where the supervisor expects it, and removes anything
 * else the try wrote into the scratch root (the next try finds it empty).
 */
async function takeBack(given: Given, scratchDir: string): Promise<void> {
  await Promise.all(given.links.map((l) => unlink(l).catch(() => undefined)));
  if (existsSync(given.inside)) {
    await unlink(scratchDir).catch(() => undefined);
    try {
      await rename(given.inside, scratchDir);
    } catch {
      // Something is in the way (it cannot be, the try folder is the supervisor's): the scratch is not kept.
      await rm(given.inside, { recursive: true, force: true });
      await mkdir(scratchDir, { recursive: true }).catch(() => undefined);
    }
  }
  const left = await readdir(given.scratchRoot).catch(() => [] as string[]);
  await Promise.all(left.map((name) => rm(path.join(given.scratchRoot, name), { recursive: true, force: true }).catch(() => undefined)));
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  if (!statSync(from).isFile()) throw new Error(`${from} is not a file`);
  await unlink(to).catch(() => undefined);
  try {
    await link(from, to);
  } catch {
    // Another file system, or links not allowed: a copy reads the same.
    await copyFile(from, to);
  }
}

/** The cgroup a runner folder recorded (for the sweep), or null. */
export function recordedCgroup(dir: string): unknown {
  try {
    return JSON.parse(readFileSync(path.join(dir, "cgroup.json"), "utf8")) as unknown;
  } catch {
    return null;
  }
}
