/** Errors of the kubernetes backend; each names what happened to the pod and says what to do next. */

/** Closed set of kubernetes failure codes. */
export type KubernetesErrorCode =
  | "cluster_unavailable" | "forbidden" | "invalid_task" | "image_pull_failed" | "image_missing" | "unschedulable"
  | "startup_timeout" | "evicted" | "deleted" | "node_lost" | "pod_failed" | "result_fetch_failed" | "inputs_failed"
  | "network_unenforced";

/** A kubernetes operation or pod failed; `code` tells which, the message quotes the pod's events and the fix. */
export class KubernetesError extends Error {
  override name = "KubernetesError";
  constructor(readonly code: KubernetesErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The message of anything thrown by the client: the API server's Status message when there is one. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const body = (err as Error & { body?: unknown }).body;
    const parsed = typeof body === "string" ? safeJson(body) : body;
    const message = (parsed as { message?: unknown } | undefined)?.message;
    return typeof message === "string" ? message : err.message;
  }
  return String(err);
}

/** The HTTP status of a client error, if any. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
