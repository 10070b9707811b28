/**
 * Warm sandboxes: a sandbox (namespaces, cgroup with the try's limits, runner started) made before its try is
 * claimed. A sandbox's mounts are fixed when it starts, and a try's own paths are known only at the hand-over, so
 * a warm sandbox mounts folders of its own at the places those paths live:
 * - `<warm>/mod` read-only at the folder of compiled DAG modules, and `<warm>/xcom` read-only at the XCom folder:
 *   at the hand-over the try's module and XCom files are hard-linked in, so the task sees them at the same paths
 *   as a cold sandbox does, and nothing else of those folders;
 * - `<warm>/scratch` writable at its own path: it becomes the try's scratch folder (moved into the try's folder on
 *   the host; inside, the payload names it where it is mounted).
 * Tries whose readable paths are anything else (folders, staged dataset inputs, files granted by hand) launch cold.
 */
import { copyFileSync, linkSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { AirlockConfig } from "../../config/config.js";
import type { Resources } from "../../sdk/types.js";
import type { HostPython } from "../python-runner.js";
import type { LaunchRequest, RunningTry } from "../types.js";
import { WarmHandOverError, warmScratch, type WarmProcess } from "../warm/warm-process.js";

/** What a sandbox of a try runs with; tries with equal plans (and folders) can share warm sandboxes. */
export interface SandboxPlan {
  resources: Resources | null;
  network: "none" | "host";
  node: string;
  python: HostPython | null;
  uid: number | undefined;
}

/** Where a warm sandbox's own folders are and where they are mounted. */
export interface WarmLayout {
  scratch: string;
  /** [host folder, path inside]: read-only. */
  mapped: Array<[string, string]>;
}

/** Folder of the compiled DAG modules a try may import: its own module's, or the project's. */
function moduleDirOf(config: Pick<AirlockConfig, "stateDir">, request: LaunchRequest): string {
  return request.payload.dagModule ? path.dirname(request.payload.dagModule) : path.join(config.stateDir, "dags");
}

function xcomDirOf(config: Pick<AirlockConfig, "stateDir">): string {
  return path.join(config.stateDir, "xcom");
}

/**
 * The runner's `--preload` of the SDK as a try's DAG module imports it (the "airlock" package mounted next to the
 * module folder), so a warm sandbox has it loaded before the hand-over (see runner/main.ts).
 */
export function sdkPreload(config: Pick<AirlockConfig, "stateDir">, request: LaunchRequest): string {
  return `--preload=${path.join(moduleDirOf(config, request), "node_modules", "airlock", "dist", "sdk", "index.js")}`;
}

/** The warm key of a try, or null when a warm sandbox cannot serve it (it launches cold). */
export function warmKey(config: Pick<AirlockConfig, "stateDir">, request: LaunchRequest, plan: SandboxPlan): string | null {
  if (request.payload.datasets || request.payload.codeDir) return null;
  const moduleDir = moduleDirOf(config, request);
  const xcomDir = xcomDirOf(config);
  for (const p of request.readablePaths) {
    const dir = path.dirname(p);
    if (p !== request.payload.dagModule && dir !== xcomDir) return null;
    if (p === request.payload.dagModule && dir !== moduleDir) return null;
  }
  const e = request.environment;
  return JSON.stringify([plan.python?.binary ?? plan.node, e?.key ?? null, e?.root ?? null, e?.nodeBinary ?? null, plan.resources, plan.network, plan.uid ?? null, moduleDir]);
}

/** Creates a warm sandbox's folders: its scratch, and the empty module and XCom folders mounted over the real ones. */
export function warmLayout(config: Pick<AirlockConfig, "stateDir">, dir: string, request: LaunchRequest, dist: string): WarmLayout {
  const mod = path.join(dir, "mod");
  const xcom = path.join(dir, "xcom");
  mkdirSync(warmScratch(dir), { recursive: true });
  mkdirSync(xcom, { recursive: true });
  const mapped: Array<[string, string]> = [[mod, moduleDirOf(config, request)], [xcom, xcomDirOf(config)]];
  // The "airlock" package a DAG module imports, as a cold sandbox mounts it next to the module.
  const airlock = path.join(mod, "node_modules", "airlock");
  mkdirSync(path.join(airlock, "dist", "sdk"), { recursive: true });
  writeFileSync(path.join(airlock, "package.json"), `${JSON.stringify({ name: "airlock", type: "module", exports: { ".": "./dist/sdk/index.js" } })}\n`);
  mapped.push([path.join(dist, "sdk"), path.join(moduleDirOf(config, request), "node_modules", "airlock", "dist", "sdk")]);
  // dist/ as ES modules (the installation's package.json one folder up is not mounted).
  mapped.push([writeScope(dir), path.join(dist, "package.json")]);
  return { scratch: warmScratch(dir), mapped };
}

function writeScope(dir: string): string {
  const file = path.join(dir, "esm-package.json");
  writeFileSync(file, `${JSON.stringify({ type: "module" })}\n`);
  return file;
}

/**
 * Hands `request` to a warm sandbox: its readable files are linked into the mounted folders (same paths as in a
 * cold sandbox), its scratch folder is the sandbox's, and the payload goes down the pipe.
 */
export async function handOverSandbox(slot: WarmProcess, request: LaunchRequest): Promise<RunningTry> {
  const dir = slot.spec.dir;
  try {
    for (const p of request.readablePaths) {
      const into = p === request.payload.dagModule ? path.join(dir, "mod") : path.join(dir, "xcom");
      linkOrCopy(p, path.join(into, path.basename(p)));
    }
  } catch (err) {
    void slot.dispose();
    throw new WarmHandOverError(`could not give the warm sandbox its files: ${(err as Error).message}`, { cause: err });
  }
  const scratch = warmScratch(dir);
  const payload = { ...request.payload, context: { ...request.payload.context, scratchDir: scratch } };
  return slot.handOver(request, payload);
}

function linkOrCopy(from: string, to: string): void {
  if (!statSync(from).isFile()) throw new Error(`${from} is not a file`);
  try {
    linkSync(from, to);
  } catch {
    // Another file system, or links not allowed: a copy reads the same.
    copyFileSync(from, to);
  }
}
