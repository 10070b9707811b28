/**
 * Connections and variables: stored encrypted, also read from AIRLOCK_CONN_<ID> / AIRLOCK_VAR_<NAME>
 * (environment first, as in Airflow). Public views never contain secret values.
 */
import type { Connection } from "../sdk/types.js";
import { ID_PATTERN } from "../sdk/dag.js";
import { Masker, SENSITIVE_NAME } from "../secrets/masker.js";
import type { AirlockContext } from "./context.js";
import { NotFoundError, ValidationError } from "./errors.js";

/** Input for adding a connection: fields, or a URI like postgres://user:pass@host:5432/db?sslmode=require. */
export interface ConnectionInput {
  connId: string;
  uri?: string;
  connType?: string;
  host?: string;
  port?: number;
  login?: string;
  password?: string;
  schema?: string;
  extra?: Record<string, unknown>;
  description?: string;
}

/** A connection as listed: no password, secret extra values shown as ***. */
export interface PublicConnection extends Omit<Connection, "password"> {
  hasPassword: boolean;
  description: string | null;
  source: "store" | "env";
}

/** A variable as listed: secret values hidden. */
export interface PublicVariable {
  key: string;
  value: string | null;
  isSecret: boolean;
  description: string | null;
  source: "store" | "env";
}

const envName = (prefix: string, id: string) => `${prefix}${id.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;

/** Parses an Airflow-style connection URI (or a JSON object) into a connection. */
export function parseConnectionUri(connId: string, uri: string): Connection {
  const text = uri.trim();
  if (text.startsWith("{")) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new ValidationError("uri", `connection "${connId}" is not valid JSON`, "Give a URI like postgres://user:pass@host:5432/db or a JSON object", { cause: err });
    }
    return {
      id: connId, type: str(o.conn_type ?? o.type), host: str(o.host), port: o.port === undefined ? undefined : Number(o.port),
      login: str(o.login), password: str(o.password), schema: str(o.schema),
      extra: typeof o.extra === "string" ? (JSON.parse(o.extra) as Record<string, unknown>) : (o.extra as Record<string, unknown> | undefined),
    };
  }
  let u: URL;
  try {
    u = new URL(text);
  } catch (err) {
    throw new ValidationError("uri", `connection "${connId}" has an invalid URI`, "Use the form type://login:password@host:port/schema?key=value", { cause: err });
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of u.searchParams) extra[k] = v;
  return {
    id: connId,
    type: u.protocol.replace(/:$/, "").replace(/-/g, "_"),
    host: u.hostname ? decodeURIComponent(u.hostname) : undefined,
    port: u.port ? Number(u.port) : undefined,
    login: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    schema: u.pathname && u.pathname !== "/" ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    extra: Object.keys(extra).length > 0 ? extra : undefined,
  };
}

function str(v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : String(v);
}

function checkId(field: string, id: unknown): asserts id is string {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new ValidationError(field, `${JSON.stringify(id)} is not a valid id`, "Use letters, digits, '_', '-' and '.' (at most 250)");
  }
}

/** Adds or replaces a connection; password and extra are encrypted at rest. */
export async function addConnection(ctx: AirlockContext, input: ConnectionInput): Promise<void> {
  checkId("connId", input.connId);
  const c: Connection = input.uri ? parseConnectionUri(input.connId, input.uri) : {
    id: input.connId, type: input.connType, host: input.host, port: input.port, login: input.login,
    password: input.password, schema: input.schema, extra: input.extra,
  };
  if (c.port !== undefined && (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535)) {
    throw new ValidationError("port", `${String(c.port)} is not a port number`, "Use an integer between 0 and 65535");
  }
  if (c.extra !== undefined && (typeof c.extra !== "object" || c.extra === null || Array.isArray(c.extra))) {
    throw new ValidationError("extra", "must be a JSON object", 'Pass extra as an object such as {"region": "eu"}');
  }
  await ctx.store.upsertConnection({
    connId: input.connId, connType: c.type ?? null, host: c.host ?? null, port: c.port ?? null, login: c.login ?? null,
    passwordEnc: c.password ? ctx.secrets.encrypt(c.password) : null, schema: c.schema ?? null,
    extraEnc: c.extra ? ctx.secrets.encrypt(JSON.stringify(c.extra)) : null, description: input.description ?? null,
  });
}

/** The full connection (with secrets) for a task that was granted it; environment first. */
export async function resolveConnection(ctx: AirlockContext, connId: string): Promise<Connection | undefined> {
  const fromEnv = process.env[envName("AIRLOCK_CONN_", connId)];
  if (fromEnv) return parseConnectionUri(connId, fromEnv);
  const row = await ctx.store.getConnection(connId);
  if (!row) return undefined;
  return {
    id: row.connId, type: row.connType ?? undefined, host: row.host ?? undefined, port: row.port ?? undefined,
    login: row.login ?? undefined, password: row.passwordEnc ? ctx.secrets.decrypt(row.passwordEnc) : undefined,
    schema: row.schema ?? undefined, extra: row.extraEnc ? (JSON.parse(ctx.secrets.decrypt(row.extraEnc)) as Record<string, unknown>) : undefined,
  };
}

/** Values of a connection that must be masked in logs. */
export function connectionSecrets(c: Connection): string[] {
  const out: string[] = [];
  if (c.password) out.push(c.password);
  const walk = (v: unknown, sensitive: boolean) => {
    if (typeof v === "string" && sensitive) out.push(v);
    else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, sensitive || SENSITIVE_NAME.test(k));
  };
  walk(c.extra, false);
  return out;
}

function publicExtra(extra: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!extra) return undefined;
  const hide = (v: unknown, sensitive: boolean): unknown => {
    if (sensitive && v !== null && typeof v !== "object") return "***";
    if (Array.isArray(v)) return v.map((x) => hide(x, sensitive));
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hide(x, sensitive || SENSITIVE_NAME.test(k))]));
    return v;
  };
  return hide(extra, false) as Record<string, unknown>;
}

function toPublic(c: Connection, description: string | null, source: "store" | "env"): PublicConnection {
  const { password, extra, ...rest } = c;
  return { ...rest, extra: publicExtra(extra), hasPassword: Boolean(password), description, source };
}

/** Connections from the store and the environment, without secret values. */
export async function listConnections(ctx: AirlockContext): Promise<PublicConnection[]> {
  const out = new Map<string, PublicConnection>();
  for (const row of await ctx.store.listConnections()) {
    const c = await resolveConnection(ctx, row.connId);
    if (c) out.set(row.connId, toPublic(c, row.description, "store"));
  }
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("AIRLOCK_CONN_") || !value) continue;
    const id = name.slice("AIRLOCK_CONN_".length).toLowerCase();
    try {
      if (![...out.keys()].some((k) => envName("AIRLOCK_CONN_", k) === name)) out.set(id, toPublic(parseConnectionUri(id, value), null, "env"));
    } catch {
      // A malformed variable is reported when a task uses it.
    }
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** Deletes a stored connection. */
export async function deleteConnection(ctx: AirlockContext, connId: string): Promise<void> {
  if (!(await ctx.store.deleteConnection(connId))) throw new NotFoundError("Connection", connId, "List connections with `airlock connections list`");
}

/** Sets a variable; values are encrypted at rest. Secret variables (flagged or with a sensitive name) are masked. */
export async function setVariable(ctx: AirlockContext, key: string, value: string, options: { secret?: boolean; description?: string } = {}): Promise<void> {
  checkId("key", key);
  if (typeof value !== "string") throw new ValidationError("value", "must be a string", "JSON-encode structured values");
  await ctx.store.setVariable({ key, valueEnc: ctx.secrets.encrypt(value), isSecret: options.secret ?? SENSITIVE_NAME.test(key), description: options.description ?? null });
}

/** A variable's value, environment first; undefined when unknown. */
export async function resolveVariable(ctx: AirlockContext, key: string): Promise<{ value: string; isSecret: boolean } | undefined> {
  const fromEnv = process.env[envName("AIRLOCK_VAR_", key)];
  if (fromEnv !== undefined) return { value: fromEnv, isSecret: SENSITIVE_NAME.test(key) };
  const row = await ctx.store.getVariable(key);
  return row ? { value: ctx.secrets.decrypt(row.valueEnc), isSecret: row.isSecret } : undefined;
}

/** A variable's value for an admin; throws NotFoundError when unknown. */
export async function getVariable(ctx: AirlockContext, key: string): Promise<string> {
  const v = await resolveVariable(ctx, key);
  if (!v) throw new NotFoundError("Variable", key, `Set it with \`airlock variables set ${key} <value>\``);
  return v.value;
}

/** Variables from the store and the environment; secret values are null. */
export async function listVariables(ctx: AirlockContext): Promise<PublicVariable[]> {
  const out = new Map<string, PublicVariable>();
  for (const row of await ctx.store.listVariables()) {
    out.set(row.key, { key: row.key, value: row.isSecret ? null : ctx.secrets.decrypt(row.valueEnc), isSecret: row.isSecret, description: row.description, source: "store" });
  }
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("AIRLOCK_VAR_") || value === undefined) continue;
    const key = name.slice("AIRLOCK_VAR_".length).toLowerCase();
    if (out.has(key)) continue;
    const secret = SENSITIVE_NAME.test(key);
    out.set(key, { key, value: secret ? null : value, isSecret: secret, description: null, source: "env" });
  }
  return [...out.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** Deletes a stored variable. */
export async function deleteVariable(ctx: AirlockContext, key: string): Promise<void> {
  if (!(await ctx.store.deleteVariable(key))) throw new NotFoundError("Variable", key, "List variables with `airlock variables list`");
}

/** A masker for every secret the orchestrator knows (connection secrets, secret variables), for output shown to people. */
export async function knownSecretsMasker(ctx: AirlockContext): Promise<Masker> {
  const secrets: string[] = [];
  for (const c of await ctx.store.listConnections()) {
    const full = await resolveConnection(ctx, c.connId).catch(() => undefined);
    if (full) secrets.push(...connectionSecrets(full));
  }
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("AIRLOCK_CONN_") && value) {
      try {
        secrets.push(...connectionSecrets(parseConnectionUri(name.slice(13).toLowerCase(), value)));
      } catch {
        // Malformed: nothing to mask.
      }
    }
  }
  for (const v of await ctx.store.listVariables()) if (v.isSecret) secrets.push(ctx.secrets.decrypt(v.valueEnc));
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("AIRLOCK_VAR_") && value && SENSITIVE_NAME.test(name.slice(12))) secrets.push(value);
  }
  return new Masker(secrets);
}
