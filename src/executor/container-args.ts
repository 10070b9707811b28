/**
 * The container operator runs the user's image without the runner, so its templated fields are rendered here,
 * with the same hardened renderer and the same grants the runner would apply.
 */
import { renderedArgs } from "../runner/context.js";
import type { TaskPayload } from "../runner/protocol.js";

/** Rendered container arguments and the secret values (privateEnv) to mask. */
export async function renderContainerArgs(p: TaskPayload): Promise<{ args: Record<string, unknown>; secrets: string[] }> {
  const args = await renderedArgs(p);
  // privateEnv (container), secretEnv and secretFiles (kubernetesPod): rendered templates, masked everywhere.
  const secretFiles = ((args.secretFiles as { files?: Record<string, unknown> }[] | undefined) ?? []).flatMap((f) => Object.values(f.files ?? {}));
  const secrets = [...Object.values((args.privateEnv ?? {}) as Record<string, unknown>), ...Object.values((args.secretEnv ?? {}) as Record<string, unknown>), ...secretFiles]
    .filter((v): v is string => typeof v === "string");
  return { args, secrets };
}
