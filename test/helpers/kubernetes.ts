/**
 * The test Kubernetes cluster: a real single-node cluster built from the Go module proxy and started (or reused)
 * by scripts/k8s/cluster.sh. Nothing is skipped: when the cluster cannot be had, the suite fails with the
 * script's output as the reason.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLUSTER = path.join(ROOT, "scripts", "k8s", "cluster.sh");
const LOAD_IMAGE = path.join(ROOT, "scripts", "k8s", "load-image.sh");
const run = promisify(execFile);

/** Where the running test cluster is reached. */
export interface TestCluster {
  /** Path of the admin kubeconfig (embedded certificates, context `airlock-test`). */
  kubeconfig: string;
}

let cluster: Promise<TestCluster> | undefined;

/** Starts the test cluster when none runs (reuses a running one) and returns its admin kubeconfig path. */
export function ensureCluster(): Promise<TestCluster> {
  cluster ??= run("bash", [CLUSTER, "up"], { timeout: 300_000, maxBuffer: 16 << 20 }).then(
    ({ stdout }) => ({ kubeconfig: stdout.trim().split("\n").pop() ?? "" }),
    (err: { stderr?: string; message: string }) => {
      cluster = undefined;
      throw new Error(`scripts/k8s/cluster.sh up failed, so the kubernetes tests cannot run: ${err.stderr || err.message}`);
    },
  );
  return cluster;
}

/** Runs the cluster's own kubectl with the admin kubeconfig; `input` goes to its stdin. Returns stdout. */
export async function kubectl(args: string[], input?: string): Promise<string> {
  await ensureCluster();
  return new Promise((resolve, reject) => {
    const child = execFile("bash", [CLUSTER, "kubectl", ...args], { timeout: 180_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout)));
    child.stdin?.end(input ?? "");
  });
}

/** Loads Docker images into the cluster's containerd (no registry needed; pods use imagePullPolicy Never). */
export async function loadImages(...images: string[]): Promise<void> {
  await ensureCluster();
  await run("bash", [LOAD_IMAGE, ...images], { timeout: 600_000, maxBuffer: 16 << 20 });
}

/** Removes every reference (tags and digests) of these repositories from the cluster's containerd. */
export async function removeClusterImages(...repositories: string[]): Promise<void> {
  const { stdout } = await run("bash", [CLUSTER, "ctr", "images", "ls", "-q"]);
  const refs = stdout.split("\n").filter((ref) => repositories.some((r) => ref.startsWith(`${r}:`) || ref.startsWith(`${r}@`)));
  if (refs.length > 0) await run("bash", [CLUSTER, "ctr", "images", "rm", ...refs]);
}

/** The name containerd stores a Docker image under: `airlock/base:x` is `docker.io/airlock/base:x`. */
export function clusterImageName(image: string): string {
  const first = image.split("/")[0] ?? "";
  if (!image.includes("/")) return `docker.io/library/${image}`;
  return first.includes(".") || first.includes(":") || first === "localhost" ? image : `docker.io/${image}`;
}
