// Fetch wrapper: adds the session's token, turns error bodies into ApiFailure, and notices a 401.

const TOKEN_KEY = "airlock.token";

/** An error answer of the API. */
export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly hint: string, readonly field?: string) {
    super(message);
  }
}

/** What a form shows for a failed request: the API's message and its hint, or the error as text. */
export function failureText(err: unknown): string {
  return err instanceof ApiFailure ? `${err.message}${err.hint ? ` — ${err.hint}` : ""}` : String(err);
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Token kept for this browser session (sessionStorage), taken once from ?token= if present. */
export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Stores (or clears) the session's token. */
export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Moves a ?token= URL parameter into the session and removes it from the address bar. */
export function adoptUrlToken(): void {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token) {
    setToken(token);
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
}

/** Called when the server answers 401 (the login form shows). */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** Calls /api/v1`path`. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  // Tells the server the request comes from its own UI, not from a cross-site page.
  const headers: Record<string, string> = { accept: "application/json", "x-airlock-request": "1" };
  const token = currentToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`/api/v1${path}`, {
    method: init.method ?? "GET",
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; hint?: string; field?: string } } | undefined)?.error;
    if (res.status === 401) for (const l of unauthorizedListeners) l();
    throw new ApiFailure(res.status, e?.code ?? "error", e?.message ?? `HTTP ${res.status}`, e?.hint ?? "", e?.field);
  }
  return json as T;
}

/** URL of the event stream (EventSource cannot send headers, so the token goes in the query). */
export function eventsUrl(params: Record<string, string | string[] | undefined> = {}): string {
  const qs = new URLSearchParams();
  const token = currentToken();
  if (token) qs.set("token", token);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) qs.append(k, item);
  }
  return `/api/v1/events?${qs}`;
}

/** Encodes a path segment. */
export const seg = encodeURIComponent;
