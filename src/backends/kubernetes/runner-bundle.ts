/**
 * How Airlock's runner reaches a pod without being part of the environment's image: its bundle (about 220 KB:
 * runner.mjs, its chunks, the module hooks and the SDK) is an immutable ConfigMap named after its content,
 * created once per Airlock build and mounted read-only into every runner pod. Unlike an init container from a
 * runner image, this needs no image on the cluster's nodes and no registry, and adds no container start to a try.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type { V1ConfigMap, V1KeyToPath } from "@kubernetes/client-node";
import type { KubeClient } from "./client.js";
import { KubernetesError, messageOf, statusOf } from "./errors.js";
import { LABELS } from "./spec.js";

/** Where the runner bundle is mounted in runner pods. */
export const RUNNER_ROOT = "/airlock/runner";
/** A ConfigMap holds at most 1 MiB. */
const CONFIGMAP_LIMIT = 1024 * 1024 - 16 * 1024;

/** The runner bundle as ConfigMap data and the volume items that lay it out as folders again. */
export interface RunnerBundle {
  name: string;
  data: Record<string, string>;
  items: V1KeyToPath[];
}

function filesOf(distDir: string): string[] {
  const out = ["runner.mjs", "runner-hooks.mjs"];
  const walk = (rel: string, keep: (f: string) => boolean) => {
    for (const entry of readdirSync(path.join(distDir, rel), { withFileTypes: true })) {
      const p = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(p, keep);
      else if (keep(entry.name)) out.push(p);
    }
  };
  walk("runner-chunks", (f) => f.endsWith(".mjs"));
  walk("sdk", (f) => f.endsWith(".js"));
  // The Python runner of python tasks (plain standard library).
  if (existsSync(path.join(distDir, "runner-python"))) walk("runner-python", (f) => f.endsWith(".py"));
  return out.sort();
}

/** Reads the bundle from a built dist/ folder. */
export function readRunnerBundle(distDir: string): RunnerBundle {
  if (!existsSync(path.join(distDir, "runner.mjs"))) {
    throw new KubernetesError("invalid_task", `the runner bundle ${path.join(distDir, "runner.mjs")} is missing; run \`npm run build\` first`);
  }
  const data: Record<string, string> = { "package.json": JSON.stringify({ type: "module" }) };
  const items: V1KeyToPath[] = [{ key: "package.json", path: "package.json" }];
  const hash = createHash("sha256");
  let size = 0;
  for (const rel of filesOf(distDir)) {
    const text = readFileSync(path.join(distDir, rel), "utf8");
    const key = rel.split(path.sep).join("__");
    data[key] = text;
    items.push({ key, path: rel.split(path.sep).join("/") });
    hash.update(rel).update("\0").update(text).update("\0");
    size += Buffer.byteLength(text);
  }
  if (size > CONFIGMAP_LIMIT) throw new KubernetesError("invalid_task", `the runner bundle is ${size} bytes, more than a ConfigMap holds; build without source maps`);
  return { name: `airlock-runner-${hash.digest("hex").slice(0, 16)}`, data, items };
}

/** Creates the bundle's ConfigMap unless it exists (another orchestrator may create it at the same moment). */
export async function ensureRunnerConfigMap(client: KubeClient, bundle: RunnerBundle): Promise<void> {
  const { core, namespace } = client;
  try {
    await core.readNamespacedConfigMap({ name: bundle.name, namespace });
    return;
  } catch (err) {
    if (statusOf(err) !== 404) throw new KubernetesError("cluster_unavailable", `reading ConfigMap ${bundle.name} failed: ${messageOf(err)}`, { cause: err });
  }
  const body: V1ConfigMap = { metadata: { name: bundle.name, labels: { [LABELS.runner]: "bundle" } }, data: bundle.data, immutable: true };
  try {
    await core.createNamespacedConfigMap({ namespace, body });
  } catch (err) {
    if (statusOf(err) !== 409) throw new KubernetesError("cluster_unavailable", `creating the runner's ConfigMap ${bundle.name} in namespace ${namespace} failed: ${messageOf(err)}`, { cause: err });
  }
}
