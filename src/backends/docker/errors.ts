/** Errors of the docker backend and the docker environment target; each says what to do next. */

/** Closed set of docker failure codes. */
export type DockerErrorCode =
  | "engine_unavailable" | "image_missing" | "image_build_failed" | "pull_failed" | "registry_unreachable"
  | "push_failed" | "manifest_missing" | "container_failed" | "invalid_task";

/** A docker operation failed; `code` tells which, the message says how to fix it. */
export class DockerError extends Error {
  override name = "DockerError";
  constructor(readonly code: DockerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The message of anything thrown, for wrapping into a DockerError. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    // dockerode puts the engine's JSON reply in `json`; its message is the useful part.
    const json = (err as Error & { json?: { message?: string } | null }).json;
    return json?.message ?? err.message;
  }
  return String(err);
}
