/**
 * Keeps web pages the developer visits away from a local API (which has no tokens by default): requests must name
 * an allowed Host (DNS rebinding), and state-changing requests without a bearer token must prove they are not
 * cross-site (CSRF) with a same-origin `Origin`, `Sec-Fetch-Site: same-origin`, or the `X-Airlock-Request` header
 * that the web UI and the API client send (a cross-site page cannot send it without a CORS preflight, which the
 * API never grants).
 */
import type { IncomingHttpHeaders } from "node:http";
import { ForbiddenError } from "./errors.js";

/** The header first-party clients send with every request. */
export const REQUEST_HEADER = "x-airlock-request";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** The host name of a Host header value, lower-case, without port or IPv6 brackets. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  const colon = h.lastIndexOf(":");
  return colon > 0 && h.indexOf(":") === colon ? h.slice(0, colon) : h;
}

/**
 * Checks one request; throws ForbiddenError (403) saying what to change. With tokens configured a state-changing
 * request needs a bearer token anyway (which a cross-site page does not have), so only the Host is checked.
 */
export function guardRequest(method: string, headers: IncomingHttpHeaders, allowedHosts: readonly string[], tokensEnabled: boolean): void {
  const host = first(headers.host) ?? "";
  const allowed = allowedHosts.map((h) => h.toLowerCase());
  if (!allowed.includes("*") && !allowed.includes(hostName(host))) {
    throw new ForbiddenError(
      `Host "${host.slice(0, 200)}" is not one this server answers to`,
      `Use one of ${allowedHosts.join(", ")}, or add the name to api.allowedHosts (AIRLOCK__API__ALLOWED_HOSTS) in the server's configuration`,
    );
  }
  if (tokensEnabled || SAFE_METHODS.has(method.toUpperCase())) return;
  const origin = first(headers.origin);
  if (origin !== undefined) {
    if (sameOrigin(origin, host)) return;
    throw new ForbiddenError(`A request from origin "${origin.slice(0, 200)}" may not change anything on this server`, "Use the Airlock web UI, the CLI or the API client from this server's own origin");
  }
  const site = first(headers["sec-fetch-site"]);
  if (site === "same-origin" || site === "none" || first(headers[REQUEST_HEADER]) !== undefined) return;
  throw new ForbiddenError(
    "This request changes state but carries no proof that it is not cross-site",
    `Send the header 'X-Airlock-Request: 1' (the CLI and the web UI do), or a bearer token`,
  );
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host.toLowerCase() === host.trim().toLowerCase();
  } catch {
    return false;
  }
}
