/**
 * Shared fixtures of the docker suites: a real engine (started by scripts/setup-docker.sh when none answers),
 * the local base image, a real registry, and cleanup of everything a suite labelled or tagged.
 * Nothing is skipped: when the engine cannot be had, the suite fails with the script's output as the reason.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Label put on every container a test creates by hand, so cleanup finds them. */
export const TEST_LABEL = "airlock.test";

function script(name: string, args: string[] = []): void {
  try {
    execFileSync("bash", [path.join(ROOT, "scripts", name), ...args], { stdio: "pipe", timeout: 900_000 });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(`scripts/${name} failed, so the docker tests cannot run: ${e.stderr?.toString() || e.stdout?.toString() || e.message}`);
  }
}

let ready = false;
/** Starts (or reuses) the engine and builds the base image once; throws with the reason when it cannot. */
export function ensureDocker(): Docker {
  if (!ready) {
    script("setup-docker.sh");
    script("build-base-image.sh");
    ready = true;
  }
  return new Docker();
}

/** Starts (or reuses) Debian's docker-registry on 127.0.0.1:<port>; returns "127.0.0.1:<port>". */
export function ensureRegistry(port = 5000): string {
  script("setup-registry.sh", [String(port)]);
  return `127.0.0.1:${port}`;
}

/** A project name no other test run uses, so images and containers of parallel runs never collide. */
export function uniqueProject(prefix = "airlock-test"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Removes every container whose label matches (`key=value` or `key`), running or not. */
export async function removeContainers(docker: Docker, label: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

/** Removes image tags (not the layers other tags share); missing tags are fine. */
export async function removeImages(docker: Docker, refs: string[]): Promise<void> {
  for (const ref of refs) await docker.getImage(ref).remove({ noprune: false }).catch(() => undefined);
}

/** Whether a container with this id still exists. */
export async function containerExists(docker: Docker, id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return true;
  } catch {
    return false;
  }
}
