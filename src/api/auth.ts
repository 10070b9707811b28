/**
 * Bearer-token auth with two roles. No configured token means auth is off (local use only: the server then
 * binds to the loopback interface).
 */
import { timingSafeEqual } from "node:crypto";
import type { ApiToken } from "../config/config.js";
import { ForbiddenError, UnauthorizedError } from "./errors.js";

/** What a route needs: nothing, any valid token, or an admin token. */
export type RouteRole = "public" | "read" | "admin";

/** Who made a request. */
export interface Principal {
  role: "admin" | "read";
  /** False when auth is off. */
  authenticated: boolean;
  /** Who, for the audit log: the token's name (or "token #<n>"), or "local" when auth is off. Never the token itself. */
  name: string;
}

/** Checks tokens against the configured list. */
export class TokenAuth {
  constructor(private readonly tokens: readonly ApiToken[]) {}

  /** True when at least one token is configured. */
  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** Returns the caller's principal or throws 401/403. `token` is the raw bearer token, if any. */
  authorize(token: string | undefined, needed: RouteRole): Principal {
    if (!this.enabled) return { role: "admin", authenticated: false, name: "local" };
    if (needed === "public") return { role: "read", authenticated: false, name: "anonymous" };
    if (!token) throw new UnauthorizedError("This route needs a bearer token");
    const match = this.tokens.find((t) => safeEqual(t.token, token));
    if (!match) throw new UnauthorizedError("The bearer token is not valid");
    if (needed === "admin" && match.role !== "admin") throw new ForbiddenError("This action needs an admin token; the token given is read-only");
    return { role: match.role, authenticated: true, name: match.name ?? `token #${this.tokens.indexOf(match) + 1}` };
  }
}

/** Extracts the token of an `Authorization: Bearer …` header. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? /^Bearer\s+(.+)$/i.exec(value.trim()) : null;
  return m?.[1]?.trim() || undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
