/** Waiting on the store's change signals (with a slow re-check as a safety net), for commands that wait for runs. */
import type { Store } from "../store/store.js";

/** Re-check interval when no signal arrives (a lost notification, or a store without a watcher). */
const SAFETY_MS = 1000;

/** A subscription to the store's change signals. */
export interface ChangeSignal {
  /** Resolves at the next signal, at once if one came since the last wait, or after `maxMs` (default 1 s). */
  wait(maxMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Subscribes to the store's change signals. */
export async function watchSignal(store: Store): Promise<ChangeSignal> {
  let wake: (() => void) | null = null;
  let signalled = false;
  const unsubscribe = await store.watchChanges(() => {
    signalled = true;
    wake?.();
  });
  return {
    async wait(maxMs = SAFETY_MS) {
      if (!signalled) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, Math.min(maxMs, SAFETY_MS)));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
      signalled = false;
    },
    close: () => unsubscribe().catch(() => undefined),
  };
}
