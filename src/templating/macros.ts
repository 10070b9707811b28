/**
 * `macros.*` in templates: Airflow's date helpers plus random/uuid/json. Pure apart from randomness.
 */
import { randomUUID } from "node:crypto";
import { MacroError } from "./errors.js";
import { strftime, strptime } from "./strftime.js";

/** The `macros` namespace of a template context. */
export interface Macros {
  /** `ds_add("2026-01-01", 7)` → "2026-01-08"; negative days go back. */
  ds_add(ds: string, days: number): string;
  /** `ds_format("2026-01-31", "%Y-%m-%d", "%d.%m.%y")` → "31.01.26" (Python strftime directives). */
  ds_format(ds: string, inputFormat: string, outputFormat: string): string;
  /** A float in [0, 1). */
  random(): number;
  /** A random UUID v4. */
  uuid4(): string;
  json: {
    /** JSON text of a value; `indent` pretty-prints. */
    dumps(value: unknown, indent?: number): string;
    /** The value of JSON text. */
    loads(text: string): unknown;
  };
}

/** nunjucks passes `f(a, name=b)` as a trailing object marked `__keywords`; spread it into named positions. */
function withKeywords<F extends (...args: never[]) => unknown>(names: string[], f: F): F {
  return ((...args: unknown[]) => {
    const last = args[args.length - 1];
    if (typeof last === "object" && last !== null && (last as Record<string, unknown>).__keywords === true) {
      args.pop();
      for (const [key, value] of Object.entries(last as Record<string, unknown>)) {
        if (key === "__keywords") continue;
        const at = names.indexOf(key);
        if (at < 0) throw new MacroError(`unknown argument ${key}=; the arguments are ${names.join(", ")}`);
        args[at] = value;
      }
    }
    return (f as unknown as (...a: unknown[]) => unknown)(...args);
  }) as unknown as F;
}

const DS = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDs(ds: unknown, macro: string): Date {
  const m = typeof ds === "string" ? DS.exec(ds) : null;
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !date || date.getUTCDate() !== Number(m[3])) {
    throw new MacroError(`macros.${macro}: ${JSON.stringify(ds)} is not a date in YYYY-MM-DD form; pass ds or another YYYY-MM-DD string`);
  }
  return date;
}

/** The macros every template context gets. */
export function createMacros(): Macros {
  return {
    ds_add: withKeywords(["ds", "days"], (ds: string, days: number): string => {
      const date = parseDs(ds, "ds_add");
      if (typeof days !== "number" || !Number.isInteger(days)) {
        throw new MacroError(`macros.ds_add: days must be a whole number, got ${JSON.stringify(days)}`);
      }
      return new Date(date.getTime() + days * 86_400_000).toISOString().slice(0, 10);
    }),
    ds_format: withKeywords(["ds", "input_format", "output_format"], (ds: string, inputFormat: string, outputFormat: string): string => {
      if (typeof ds !== "string" || typeof inputFormat !== "string" || typeof outputFormat !== "string") {
        throw new MacroError('macros.ds_format(ds, input_format, output_format) takes three strings, e.g. macros.ds_format(ds, "%Y-%m-%d", "%d/%m/%Y")');
      }
      try {
        return strftime(strptime(ds, inputFormat), outputFormat);
      } catch (e) {
        if (e instanceof MacroError) throw new MacroError(`macros.ds_format: ${e.message}`, { cause: e });
        throw e;
      }
    }),
    random: () => Math.random(),
    uuid4: () => randomUUID(),
    json: {
      dumps: withKeywords(["value", "indent"], (value: unknown, indent?: number): string => {
        const text = JSON.stringify(value, null, typeof indent === "number" ? indent : undefined);
        if (text === undefined) throw new MacroError("macros.json.dumps: the value has no JSON form (undefined or a function)");
        return text;
      }),
      loads: withKeywords(["text"], (text: string): unknown => {
        try {
          return JSON.parse(text);
        } catch (cause) {
          throw new MacroError(`macros.json.loads: ${JSON.stringify(String(text).slice(0, 80))} is not JSON`, { cause });
        }
      }),
    },
  };
}
