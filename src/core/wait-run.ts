/** Waiting for a run to end, woken by the store's change signals (with a slow re-check as a safety net). */
import type { Store } from "../store/store.js";
import type { DagRun } from "../store/types.js";

/** Re-check interval when no signal arrives (a lost notification, or a store without a watcher). */
const SAFETY_MS = 1000;

/** Resolves with the run once it succeeded or failed; `onWaiting` is called once if the run has not ended at first look. */
export async function waitForRunEnd(store: Store, runId: string, options: { onWaiting?: () => Promise<void> } = {}): Promise<DagRun> {
  let wake: (() => void) | null = null;
  let signalled = false;
  const unsubscribe = await store.watchChanges(() => {
    signalled = true;
    wake?.();
  });
  try {
    for (let first = true; ; first = false) {
      signalled = false;
      const run = await store.getRun(runId);
      if (!run) throw new Error(`run ${runId} vanished from the store`);
      if (run.state === "success" || run.state === "failed") return run;
      if (first) await options.onWaiting?.();
      // A signal that arrived while reading is not lost: look again at once.
      if (signalled) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SAFETY_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    await unsubscribe().catch(() => undefined);
  }
}
