/**
 * One place that turns configuration into a Docker Engine API client, so a Podman socket, a remote engine or
 * DOCKER_HOST all work the same for the backend, image builds and deploys.
 */
import Docker from "dockerode";
import type { AirlockConfig } from "../../config/config.js";
import { DockerError, messageOf } from "./errors.js";

/** The docker part of the configuration. */
export type DockerSettings = AirlockConfig["docker"];

/** Makes a client: `socketPath` wins, then `host` (unix://, tcp://, ssh://), else the engine's own defaults. */
export function createDockerClient(settings: Pick<DockerSettings, "socketPath" | "host">): Docker {
  if (settings.socketPath) return new Docker({ socketPath: settings.socketPath });
  const host = settings.host;
  // docker-modem reads DOCKER_HOST itself, including DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
  if (!host || host === process.env.DOCKER_HOST) return new Docker();
  if (host.startsWith("unix://")) return new Docker({ socketPath: host.slice("unix://".length) });
  const url = new URL(host.replace(/^tcp:/, "http:"));
  const protocol = url.protocol === "https:" ? "https" : url.protocol === "ssh:" ? "ssh" : "http";
  return new Docker({
    protocol,
    host: url.hostname,
    port: url.port || (protocol === "ssh" ? 22 : protocol === "https" ? 2376 : 2375),
    ...(url.username ? { username: url.username } : {}),
  });
}

/** Fails with a clear message when no engine answers on the client's socket or host. */
export async function pingEngine(docker: Docker): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new DockerError("engine_unavailable",
      `no Docker Engine answered (${messageOf(err)}); start one (scripts/setup-docker.sh does), or point docker.socketPath / DOCKER_HOST at a running engine or Podman socket`,
      { cause: err });
  }
}

/** Reads a whole build/pull/push progress stream; rejects with the engine's error message when one is reported. */
export function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onLine?: (line: string) => void): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err, output: ProgressEvent[]) => {
      if (err) return reject(err);
      const failed = output.find((e) => e.error || e.errorDetail);
      if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error ?? "unknown error"));
      resolve(output);
    }, (event: ProgressEvent) => {
      const text = event.stream ?? (event.status ? `${event.status}${event.id ? ` ${event.id}` : ""}${event.progress ? ` ${event.progress}` : ""}` : undefined);
      if (text && onLine) for (const line of text.split("\n")) if (line.trim()) onLine(line.trimEnd());
    });
  });
}

/** One message of an engine progress stream. */
export interface ProgressEvent {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}
