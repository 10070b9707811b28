/**
 * Run-time lookups that compiled templates call instead of nunjucks' own. They give Jinja's StrictUndefined
 * behaviour (an undefined name is an error that says which name) and keep templates inside their data: nunjucks'
 * plain lookups let `range.constructor("return process")()` reach the host, these refuse such keys.
 */

/** Keys no template may read: they lead from data to functions that compile code or to prototypes. */
export const BLOCKED_KEYS: ReadonlySet<string> = new Set([
  "constructor", "__proto__", "prototype", "__defineGetter__", "__defineSetter__", "__lookupGetter__",
  "__lookupSetter__", "caller", "callee", "arguments", "call", "apply", "bind",
]);

/** Why a guarded lookup refused. */
export type GuardReason = "undefined" | "forbidden";

/** Thrown by guarded lookups; the renderer turns it into a TemplateError that names the expression. */
export class GuardFailure extends Error {
  override name = "GuardFailure";
  constructor(readonly reason: GuardReason, readonly expression: string, message: string, readonly line?: number, readonly column?: number) {
    super(message);
  }
}

/**
 * A namespace whose members are resolved on demand (`var.value.x`, `conn.x`), so a template asks the callbacks only
 * for what it names. Results are memoised per render context.
 */
export class LazyNamespace {
  private readonly cache = new Map<string, unknown>();
  constructor(readonly label: string, private readonly resolver: (key: string) => unknown) {}

  /** The member `key`, resolved once. */
  resolve(key: string): unknown {
    if (!this.cache.has(key)) this.cache.set(key, this.resolver(key));
    return this.cache.get(key);
  }

  toString(): string {
    return `[${this.label}: name a member, e.g. ${this.label}.name]`;
  }
}

/** The lookups compiled templates call through `env`. */
export interface Guard {
  /** A bare name: template locals, then the render context's own keys, then nunjucks globals (range, cycler, ...). */
  name(context: unknown, frame: unknown, name: string, lenient: boolean, line: number, column: number): unknown;
  /** `target.key` / `target[key]`; `path` is the expression's source form for messages. */
  member(target: unknown, key: unknown, path: string, lenient: boolean, line: number, column: number): unknown;
}

/** Property on the nunjucks Environment under which compiled code finds the guard. */
export const GUARD_PROPERTY = "airlockGuard";

const hasOwn = (o: object, k: PropertyKey): boolean => Object.prototype.hasOwnProperty.call(o, k);

function isPlainRecord(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The guard shared by every compiled template; it keeps no state between renders. */
export const guard: Guard = {
  name(context, frame, name, lenient, line, column) {
    const f = asObject(frame) as { lookup?: (n: string) => unknown } | undefined;
    const local = typeof f?.lookup === "function" ? f.lookup(name) : undefined;
    if (local !== undefined) return local;
    const c = asObject(context);
    const ctx = asObject(c?.ctx);
    if (ctx && hasOwn(ctx, name)) return defined(ctx[name], name, lenient, line, column);
    const globals = asObject(asObject(c?.env)?.globals);
    if (globals && hasOwn(globals, name)) return globals[name];
    return defined(undefined, name, lenient, line, column);
  },

  member(target, key, path, lenient, line, column) {
    if (typeof key !== "string" && typeof key !== "number") {
      throw new GuardFailure("forbidden", path, "a key must be a string or a number", line, column);
    }
    if (typeof key === "string" && BLOCKED_KEYS.has(key)) {
      throw new GuardFailure("forbidden", path, `"${key}" may not be read in a template`, line, column);
    }
    if (target === undefined || target === null) {
      if (lenient) return undefined;
      throw new GuardFailure("undefined", path, `${path} is undefined because its parent is ${String(target)}`, line, column);
    }
    let value: unknown;
    if (target instanceof LazyNamespace) {
      value = target.resolve(String(key));
    } else if (typeof target === "function" || (typeof target === "object" && isPlainRecord(target))) {
      // Data objects and functions expose only their own keys, never Object/Function prototype methods.
      value = hasOwn(target, key) ? (target as Record<string | number, unknown>)[key] : undefined;
    } else {
      // Strings, numbers and arrays keep their methods ("a,b".split(","), list.length, list.join("-")).
      value = (target as Record<string | number, unknown>)[key];
    }
    value = defined(value, path, lenient, line, column);
    if (typeof value === "function") {
      const fn = value as (...args: unknown[]) => unknown;
      // Bound like nunjucks does, so methods of strings and arrays see their receiver.
      return (...args: unknown[]) => fn.apply(target, args);
    }
    return value;
  },
};

function defined(value: unknown, expression: string, lenient: boolean, line: number, column: number): unknown {
  if (value === undefined && !lenient) throw new GuardFailure("undefined", expression, `${expression} is undefined`, line, column);
  return value;
}
