/**
 * Which image a runner pod uses and how the node gets it. With `kubernetes.registry`, the environment's image
 * (built with Docker when missing) is pushed there once and pulled by the nodes; without one, the image must
 * already be on the nodes (loaded into their runtime), so the pod says pull policy Never and a missing image is
 * a clear error instead of a pull from a registry that does not have it.
 */
import type { AirlockConfig } from "../../config/config.js";
import { buildEnvironmentImage, ensureRuntimeImage, imageRepository } from "../../environments/targets/docker.js";
import { MANIFEST_ACCEPT, parseRegistry, pushAndVerify } from "../../environments/targets/docker-registry.js";
import { createDockerClient } from "../docker/client.js";
import type { ResolvedEnvironment } from "../types.js";
import { KubernetesError, messageOf } from "./errors.js";

/** An image reference and the pull policy its pods use. */
export interface ClusterImage {
  image: string;
  pullPolicy: "IfNotPresent" | "Never";
}

type Config = Pick<AirlockConfig, "project" | "docker" | "kubernetes" | "environmentsFolder" | "projectDir" | "stateDir">;

async function registryHas(registry: string, repository: string, tag: string): Promise<boolean> {
  const { api } = parseRegistry(registry);
  const res = await fetch(`${api}/v2/${repository}/manifests/${encodeURIComponent(tag)}`, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT }, signal: AbortSignal.timeout(10_000) }).catch(() => null);
  return res?.status === 200;
}

/** Builds the local image of an environment (or the runtime image) when missing; returns repository and tag. */
async function localImage(config: Config, env: ResolvedEnvironment | null, log: (line: string) => void): Promise<{ repository: string; tag: string }> {
  if (!env) {
    const image = await ensureRuntimeImage(config, { log });
    const at = image.lastIndexOf(":");
    return { repository: image.slice(0, at), tag: image.slice(at + 1) };
  }
  const repository = imageRepository(config, env.name);
  const exists = await createDockerClient(config.docker).getImage(`${repository}:${env.key}`).inspect().then(() => true, () => false);
  if (!exists) {
    log(`building image ${repository}:${env.key} for environment ${env.name}`);
    const { loadEnvironmentSpec } = await import("../../environments/spec.js");
    await buildEnvironmentImage(config, loadEnvironmentSpec(config, env.name), { name: env.name, key: env.key, root: env.root, nodeBinary: env.nodeBinary, python: env.python ?? null }, { log: () => undefined });
  }
  return { repository, tag: env.key };
}

/** Resolves (and, with a registry, publishes) the image of a runner pod. */
export async function clusterImage(config: Config, env: ResolvedEnvironment | null, log: (line: string) => void): Promise<ClusterImage> {
  const registry = config.kubernetes.registry;
  try {
    if (!registry) {
      const { repository, tag } = env ? { repository: imageRepository(config, env.name), tag: env.key } : await localImage(config, null, log);
      return { image: `${repository}:${tag}`, pullPolicy: "Never" };
    }
    const host = parseRegistry(registry).host;
    // An image already in the registry needs no local Docker at all.
    const published = env && (await registryHas(registry, imageRepository(config, env.name), env.key));
    const { repository, tag } = published ? { repository: imageRepository(config, env.name), tag: env.key } : await localImage(config, env, log);
    if (!published && !(await registryHas(registry, repository, tag))) {
      await pushAndVerify(createDockerClient(config.docker), { source: `${repository}:${tag}`, registry, repository, tag, log });
    }
    return { image: `${host}/${repository}:${tag}`, pullPolicy: "IfNotPresent" };
  } catch (err) {
    if (err instanceof KubernetesError) throw err;
    throw new KubernetesError("image_pull_failed", `making the image of ${env ? `environment ${env.name}` : "tasks without an environment"} available to the cluster failed: ${messageOf(err)}; check the Docker engine and kubernetes.registry`, { cause: err });
  }
}
