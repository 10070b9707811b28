/**
 * Pushing an image to a registry and proving it arrived: a push that "succeeded" is not trusted until the
 * registry serves the manifest under the tag, with the digest the engine reported.
 */
import type Docker from "dockerode";
import { followProgress } from "../../backends/docker/client.js";
import { DockerError, messageOf } from "../../backends/docker/errors.js";

/** Manifest media types a registry may answer with; asking for all makes it return the stored one unchanged. */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** A registry address split into the host:port the engine uses and the base URL of its HTTP API. */
export function parseRegistry(registry: string): { host: string; api: string } {
  const m = /^(?:(https?):\/\/)?([^/\s]+)\/?$/.exec(registry.trim());
  if (!m || !m[2]) throw new DockerError("invalid_task", `registry "${registry}" is not host:port; write e.g. --registry 127.0.0.1:5000`);
  const host = m[2];
  // The engine itself talks plain http to loopback registries only; mirror that choice for the check.
  const local = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
  const scheme = m[1] ?? (local ? "http" : "https");
  return { host, api: `${scheme}://${host}` };
}

async function probe(api: string, host: string): Promise<void> {
  let status: number;
  try {
    status = (await fetch(`${api}/v2/`, { signal: AbortSignal.timeout(10_000) })).status;
  } catch (err) {
    const why = messageOf((err as { cause?: unknown }).cause ?? err);
    throw new DockerError("registry_unreachable", `registry ${host} did not answer at ${api}/v2/ (${why}); start it or check --registry`, { cause: err });
  }
  if (status !== 200 && status !== 401) {
    throw new DockerError("registry_unreachable", `${host} answered ${status} at ${api}/v2/, so it is not a Docker registry (v2 API); check --registry`);
  }
}

async function manifestDigest(api: string, repository: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`${api}/v2/${repository}/manifests/${encodeURIComponent(tag)}`, {
    headers: { Accept: MANIFEST_ACCEPT }, signal: AbortSignal.timeout(30_000),
  });
  await res.arrayBuffer();
  if (res.status !== 200) return undefined;
  return res.headers.get("docker-content-digest") ?? undefined;
}

/** What to push where. */
export interface PushRequest {
  /** Local image reference. */
  source: string;
  registry: string;
  repository: string;
  tag: string;
  log: (line: string) => void;
  /** Credentials for a registry that requires them. */
  auth?: { username: string; password: string };
}

/** Tags, pushes and verifies; returns the pushed reference and the manifest digest the registry serves. */
export async function pushAndVerify(docker: Docker, req: PushRequest): Promise<{ reference: string; digest: string }> {
  const { host, api } = parseRegistry(req.registry);
  await probe(api, host);
  const target = `${host}/${req.repository}`;
  const reference = `${target}:${req.tag}`;
  await docker.getImage(req.source).tag({ repo: target, tag: req.tag });
  req.log(`pushing ${reference}`);
  let pushed: string | undefined;
  try {
    // The engine insists on an auth header even for a registry without auth; credentials come from `auth`.
    const authconfig = { serveraddress: host, ...(req.auth ?? {}) };
    const events = await followProgress(docker, await docker.getImage(reference).push({ authconfig }), req.log);
    pushed = events.map((e) => e.aux?.Digest).find((d): d is string => typeof d === "string");
  } catch (err) {
    throw new DockerError("push_failed", `pushing ${reference} failed: ${messageOf(err)}; check that ${host} accepts pushes (and that the engine trusts it: loopback registries work over http, others need https or "insecure-registries")`, { cause: err });
  }
  let served: string | undefined;
  try {
    served = await manifestDigest(api, req.repository, req.tag);
  } catch (err) {
    throw new DockerError("manifest_missing", `after pushing, ${host} did not answer for the manifest of ${reference}: ${messageOf(err)}`, { cause: err });
  }
  if (!served) throw new DockerError("manifest_missing", `the push of ${reference} reported success, but ${host} serves no manifest for tag ${req.tag}; check the registry's storage and log`);
  if (pushed && pushed !== served) {
    throw new DockerError("manifest_missing", `${host} serves ${served} for ${reference}, not the pushed ${pushed}: another push raced this one; deploy again`);
  }
  req.log(`verified ${reference}@${served}`);
  return { reference, digest: served };
}
