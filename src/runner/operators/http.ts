/** http: calls an endpoint of a granted connection; the body (JSON when it parses) is the XCom. */
import { parseDuration } from "../../sdk/duration.js";
import type { Connection } from "../../sdk/types.js";

/** Raised for an unexpected status or a failed request. */
export class HttpOperatorError extends Error {
  override name = "HttpOperatorError";
}

/** The base URL of an HTTP connection. */
export function baseUrl(c: Connection): string {
  const host = c.host ?? "";
  if (/^https?:\/\//.test(host)) return host.replace(/\/$/, "") + (c.port ? "" : "");
  const scheme = c.type === "https" || c.extra?.scheme === "https" ? "https" : "http";
  return `${scheme}://${host}${c.port ? `:${c.port}` : ""}`;
}

/** Performs the request described by rendered args with connection `conn`. */
export async function runHttp(args: Record<string, unknown>, conn: Connection): Promise<unknown> {
  if (!conn.host) throw new HttpOperatorError(`connection "${conn.id}" has no host: set it with airlock connections add ${conn.id} --uri http://host:port`);
  const path = typeof args.path === "string" ? args.path : "";
  const url = baseUrl(conn) + (path && !path.startsWith("/") ? `/${path}` : path);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((conn.extra as Record<string, unknown> | undefined)?.headers as Record<string, unknown> ?? {})) headers[k] = String(v);
  for (const [k, v] of Object.entries((args.headers as Record<string, unknown> | undefined) ?? {})) headers[k] = String(v);
  if (conn.login) headers.authorization = `Basic ${Buffer.from(`${conn.login}:${conn.password ?? ""}`).toString("base64")}`;
  let body: string | undefined;
  if (args.body !== undefined && args.body !== null) {
    if (typeof args.body === "string") body = args.body;
    else {
      body = JSON.stringify(args.body);
      headers["content-type"] ??= "application/json";
    }
  }
  const method = String(args.method ?? "GET");
  const timeout = parseDuration((args.requestTimeout as string | number | undefined) ?? "60s", "requestTimeout");
  process.stdout.write(`${method} ${url}\n`);
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeout) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new HttpOperatorError(`${method} ${url} failed: ${cause}; check the connection "${conn.id}" and, in a sealed backend, grant network: "host"`, { cause: err });
  }
  const text = await res.text();
  process.stdout.write(`HTTP ${res.status} ${res.statusText} (${text.length} bytes)\n`);
  const expected = args.expectedStatus === undefined ? null : ([] as number[]).concat(args.expectedStatus as number | number[]);
  const ok = expected ? expected.includes(res.status) : res.status >= 200 && res.status < 300;
  if (!ok) throw new HttpOperatorError(`${method} ${url} returned ${res.status} (expected ${expected ? expected.join(" or ") : "2xx"}): ${text.slice(0, 500)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
