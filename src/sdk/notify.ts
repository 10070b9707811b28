/**
 * Callbacks and alerts: `onSuccess`, `onFailure`, `onRetry`, `onSlaMiss` (with `sla`) on tasks (and `onSuccess`, `onFailure` on DAGs) take a
 * notifier — `notify.webhook(...)`, `notify.email(...)`, templated with the task's context — or a function that runs
 * sealed in its own process like any task, never in the orchestrator. A callback's failure is logged in the task's
 * log and never changes any state.
 */
import { DagDefinitionError } from "./errors.js";
import type { TaskContext } from "./types.js";

const NOTIFIER_BRAND = Symbol.for("airlock.notifier");

/** What happened, as a callback sees it. */
export type CallbackEvent = "onSuccess" | "onFailure" | "onRetry" | "onSlaMiss";
/** The callback events of a task. */
export const CALLBACK_EVENTS: readonly CallbackEvent[] = ["onSuccess", "onFailure", "onRetry", "onSlaMiss"];

/** The context of a function callback: the task's context plus what happened. */
export interface CallbackContext extends TaskContext {
  event: CallbackEvent;
  /** The try's error for onFailure / onRetry (the failed task's, for a DAG's onFailure); null otherwise. */
  error: { type: string; message: string } | null;
}

/** Options of `notify.webhook`. */
export interface WebhookOptions {
  /** Connection giving the URL (scheme, host, port, path in `schema`... as for `http`) and credentials. */
  connection: string;
  /** Request body (templated: `{{ dag.id }}`, `{{ ti.task_id }}`, `{{ ds }}`, `{{ exception }}`); objects go as JSON. */
  body: string | Record<string, unknown>;
  /** Path appended to the connection's URL (templated). @default "" */
  path?: string;
  /** Extra request headers (templated). */
  headers?: Record<string, string>;
}

/** Options of `notify.email`. */
export interface EmailOptions {
  /** SMTP connection: host, port, login/password (AUTH PLAIN when set); extra.from is the sender. */
  connection: string;
  /** Recipients (templated). */
  to: string | string[];
  /** Subject (templated). */
  subject: string;
  /** Plain-text body (templated). */
  body: string;
}

/** A notifier made by `notify.webhook` or `notify.email`. */
export type Notifier =
  | { readonly type: "webhook"; readonly options: WebhookOptions }
  | { readonly type: "email"; readonly options: EmailOptions };

/** One callback: a notifier, or a function run sealed with the callback context. */
export type Callback = Notifier | ((ctx: CallbackContext) => unknown);
/** What `onSuccess` / `onFailure` / `onRetry` accept: one callback or several. */
export type Callbacks = Callback | Callback[];

/** A callback as stored: notifiers with their options, functions by their position (found again by the runner). */
export type SerializedCallback =
  | { type: "webhook"; connection: string; body: string | Record<string, unknown>; path?: string; headers?: Record<string, string> }
  | { type: "email"; connection: string; to: string[]; subject: string; body: string }
  | { type: "fn"; index: number };

function brand<T extends object>(n: T): T {
  Object.defineProperty(n, NOTIFIER_BRAND, { value: true });
  return n;
}

function isNotifier(v: unknown): v is Notifier {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[NOTIFIER_BRAND] === true;
}

function need(where: string, o: Record<string, unknown>, key: string): void {
  if (typeof o[key] !== "string" || o[key] === "") throw new DagDefinitionError(`${where}: "${key}" is required and must be a non-empty string`, key);
}

/** Notifiers for callbacks. */
export const notify = {
  /** POSTs `body` to the connection's URL. */
  webhook(options: WebhookOptions): Notifier {
    const o = (options ?? {}) as unknown as Record<string, unknown>;
    need("notify.webhook()", o, "connection");
    if (typeof o.body !== "string" && (typeof o.body !== "object" || o.body === null)) throw new DagDefinitionError(`notify.webhook(): "body" is required: a string or an object`, "body");
    return brand({ type: "webhook", options: { ...options } });
  },
  /** Sends a plain-text email through the SMTP connection. */
  email(options: EmailOptions): Notifier {
    const o = (options ?? {}) as unknown as Record<string, unknown>;
    need("notify.email()", o, "connection");
    need("notify.email()", o, "subject");
    need("notify.email()", o, "body");
    const to = ([] as unknown[]).concat(o.to ?? []);
    if (to.length === 0 || !to.every((x) => typeof x === "string" && x !== "")) throw new DagDefinitionError(`notify.email(): "to" must be an address or a list of addresses`, "to");
    return brand({ type: "email", options: { ...options } });
  },
};

/** Stored form of one event's callbacks; `where` names the option in errors. */
export function serializeCallbacks(where: string, value: unknown): SerializedCallback[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((c, index): SerializedCallback => {
    if (typeof c === "function") return { type: "fn", index };
    if (!isNotifier(c)) throw new DagDefinitionError(`${where}: a callback is notify.webhook(...), notify.email(...) or a function (ctx) => ...`, where);
    if (c.type === "webhook") return { type: "webhook", ...(JSON.parse(JSON.stringify(c.options)) as Omit<WebhookOptions, never>) };
    return { type: "email", connection: c.options.connection, to: ([] as string[]).concat(c.options.to), subject: c.options.subject, body: c.options.body };
  });
}

/** The stored callbacks of a task or DAG; undefined when it has none, so its version hash stays put. */
export function serializedCallbacks(where: string, options: Partial<Record<CallbackEvent, unknown>>, events: readonly CallbackEvent[]): Partial<Record<CallbackEvent, SerializedCallback[]>> | undefined {
  const out: Partial<Record<CallbackEvent, SerializedCallback[]>> = {};
  for (const e of events) if (options[e] !== undefined) out[e] = serializeCallbacks(`${where}: ${e}`, options[e]);
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The function at `index` of an event's callbacks (the runner finds function callbacks this way). */
export function callbackAt(options: Partial<Record<CallbackEvent, unknown>>, event: CallbackEvent, index: number): ((ctx: CallbackContext) => unknown) | undefined {
  const v = options[event];
  const c = (Array.isArray(v) ? v : [v])[index];
  return typeof c === "function" ? (c as (ctx: CallbackContext) => unknown) : undefined;
}
