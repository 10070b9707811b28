/**
 * One shared watch of this installation's pods (one namespace, one label selector), like a client-go informer:
 * a list gives the state and a resourceVersion, a watch from there streams every change, a dropped watch resumes
 * from the last version seen, and "410 Gone" (the version is too old) starts over with a fresh list. Every try
 * waits on this cache instead of asking for its pod itself, so 30 tries cost one connection, not 120 requests a
 * second.
 */
import { Watch, type V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "./client.js";
import { messageOf, statusOf } from "./errors.js";

type Listener = () => void;

/** What the cache knows of a pod: its latest object, `null` once it is gone, `undefined` when never seen. */
export type Known = V1Pod | null | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A cache of the pods matching `labelSelector` in the client's namespace, kept current by one watch. */
export class PodWatch {
  private readonly pods = new Map<string, V1Pod | null>();
  private readonly versions = new Map<string, number>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private resourceVersion: string | null = null;
  private controller: AbortController | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Since when the API server has not been reachable (no list done, no watch open); null while it is. */
  downSince: number | null = Date.now();
  /** Completed lists: the first, then one after every 410 Gone (for tests and the log). */
  lists = 0;
  /** Watch connections opened (the first, then one per drop). */
  connections = 0;
  lastError: string | null = null;
  /** Set while the API server refuses the watch (401/403): waiting will not help. */
  refused: string | null = null;

  constructor(private readonly client: KubeClient, private readonly labelSelector: string) {}

  private users = 0;
  private idleTimer: NodeJS.Timeout | null = null;

  /** A try starts using the watch (starting it); the returned function ends that use. Idle for 10 s, it stops. */
  acquire(): () => void {
    this.users++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.start();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.users > 0) return;
      this.idleTimer = setTimeout(() => {
        if (this.users === 0) this.stop();
      }, 10_000);
      this.idleTimer.unref();
    };
  }

  /** Starts the list-and-watch loop (idempotent). */
  start(): void {
    this.stopped = false;
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Stops watching; waiters are woken and see the cache as it was. */
  stop(): void {
    this.stopped = true;
    this.controller?.abort();
    // The next start lists afresh: events missed while stopped are not in any watch.
    this.resourceVersion = null;
    for (const set of this.listeners.values()) for (const l of set) l();
  }

  /** The cached pod `name`. */
  get(name: string): Known {
    return this.pods.get(name);
  }

  /** Records a pod this process has just read or created, unless the watch already knows something newer. */
  seed(pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (name && !this.pods.has(name)) {
      this.pods.set(name, pod);
      this.versions.set(name, this.version(name) + 1);
    }
  }

  /** A counter of the changes of pod `name` seen so far (to wait for the next one without missing any). */
  version(name: string): number {
    return this.versions.get(name) ?? 0;
  }

  /** Resolves at once if pod `name` changed since `since` (a `version`), else at its next change or after `timeoutMs`. */
  changed(name: string, timeoutMs: number, since = this.version(name)): Promise<void> {
    if (this.version(name) !== since) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.listeners.get(name);
      if (!set) this.listeners.set(name, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.listeners.delete(name);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      set.add(done);
    });
  }

  /** Forgets a pod whose try is over. */
  forget(name: string): void {
    this.pods.delete(name);
    this.versions.delete(name);
  }

  private notify(name: string): void {
    for (const l of [...(this.listeners.get(name) ?? [])]) l();
  }

  private put(pod: V1Pod, deleted: boolean): void {
    const name = pod.metadata?.name;
    if (!name) return;
    // The end of a pod no try waits for (forgotten, or another process's): nothing to keep.
    if (deleted && !this.pods.has(name) && !this.listeners.has(name)) return;
    this.pods.set(name, deleted ? null : pod);
    this.versions.set(name, this.version(name) + 1);
    this.notify(name);
  }

  private async list(): Promise<void> {
    const { core, namespace } = this.client;
    const list = await core.listNamespacedPod({ namespace, labelSelector: this.labelSelector });
    const seen = new Set<string>();
    for (const pod of list.items) {
      seen.add(pod.metadata?.name ?? "");
      this.put(pod, false);
    }
    // A pod the cache holds that the list lacks was deleted while no watch ran.
    for (const [name, pod] of this.pods) if (pod && !seen.has(name)) this.put(pod, true);
    this.resourceVersion = list.metadata?.resourceVersion ?? null;
    this.lists++;
    this.downSince = null;
    this.refused = null;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === null) await this.list();
        const gone = await this.watchOnce();
        // 410 Gone: the version fell out of the API server's window; only a new list is trustworthy.
        if (gone) this.resourceVersion = null;
        failures = 0;
      } catch (err) {
        this.lastError = messageOf(err);
        this.downSince ??= Date.now();
        const status = statusOf(err) ?? (err as { statusCode?: number }).statusCode;
        if (status === 401 || status === 403) {
          this.refused = `listing and watching pods in namespace ${this.client.namespace} was refused (${status}): ${this.lastError}; the Role needs list and watch on pods`;
          for (const set of this.listeners.values()) for (const l of set) l();
        }
        if (statusOf(err) === 410) this.resourceVersion = null;
        failures++;
        await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  /** One watch connection from the current version; resolves true when the server said 410 Gone. */
  private watchOnce(): Promise<boolean> {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.client.namespace)}/pods`;
    return new Promise((resolve, reject) => {
      let gone = false;
      let ended = false;
      const params = { labelSelector: this.labelSelector, resourceVersion: this.resourceVersion ?? undefined, allowWatchBookmarks: true, timeoutSeconds: 300 };
      this.connections++;
      new Watch(this.client.kc).watch(path, params, (type, obj: V1Pod & { code?: number; message?: string }) => {
        if (type === "ERROR") {
          if (obj.code === 410) gone = true;
          else this.lastError = obj.message ?? "watch error";
          return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (type === "BOOKMARK") return;
        this.put(obj, type === "DELETED");
      }, (err: unknown) => {
        this.controller = null;
        ended = true;
        this.downSince ??= Date.now();
        if (err && !(err instanceof Error && err.name === "AbortError")) {
          if ((err as { statusCode?: number }).statusCode === 410) return resolve(true);
          return reject(err);
        }
        resolve(gone);
      }).then((c) => {
        if (ended) return;
        this.controller = c;
        this.downSince = null;
        if (this.stopped) c.abort();
      }, reject);
    });
  }
}
