/**
 * Python-style strftime/strptime for `macros.ds_format`, on naive date-times (no zone), as Airflow's macro works.
 */
import { MacroError } from "./errors.js";

/** A naive date-time (month 1-12). */
export interface NaiveDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Directives both functions understand. */
export const STRFTIME_DIRECTIVES = "%Y %y %m %d %H %I %M %S %f %p %j %b %B %a %A %w %u %F %T %%";

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

function toDate(t: NaiveDateTime): Date {
  return new Date(Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second));
}

function dayOfYear(t: NaiveDateTime): number {
  return Math.round((Date.UTC(t.year, t.month - 1, t.day) - Date.UTC(t.year, 0, 1)) / 86_400_000) + 1;
}

/** Formats `t` with a Python strftime format. */
export function strftime(t: NaiveDateTime, format: string): string {
  return format.replace(/%(.)/gs, (_, d: string) => {
    const weekday = toDate(t).getUTCDay();
    switch (d) {
      case "Y": return pad(t.year, 4);
      case "y": return pad(t.year % 100);
      case "m": return pad(t.month);
      case "d": return pad(t.day);
      case "H": return pad(t.hour);
      case "I": return pad(t.hour % 12 === 0 ? 12 : t.hour % 12);
      case "M": return pad(t.minute);
      case "S": return pad(t.second);
      case "f": return pad(t.microsecond, 6);
      case "p": return t.hour < 12 ? "AM" : "PM";
      case "j": return pad(dayOfYear(t), 3);
      case "b": return (MONTHS[t.month - 1] ?? "").slice(0, 3);
      case "B": return MONTHS[t.month - 1] ?? "";
      case "a": return (DAYS[weekday] ?? "").slice(0, 3);
      case "A": return DAYS[weekday] ?? "";
      case "w": return String(weekday);
      case "u": return String(weekday === 0 ? 7 : weekday);
      case "F": return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
      case "T": return `${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`;
      case "%": return "%";
      default: throw new MacroError(`format ${JSON.stringify(format)} uses %${d}, which is not supported: use ${STRFTIME_DIRECTIVES}`);
    }
  });
}

const NUMERIC: Record<string, [min: number, max: number]> = {
  Y: [4, 4], y: [2, 2], m: [1, 2], d: [1, 2], H: [1, 2], I: [1, 2], M: [1, 2], S: [1, 2], f: [1, 6], j: [1, 3], w: [1, 1], u: [1, 1],
};

/** Parses `text` with a Python strptime format; throws MacroError when it does not match. */
export function strptime(text: string, format: string): NaiveDateTime {
  const fail = (why: string): never => {
    throw new MacroError(`${JSON.stringify(text)} does not match format ${JSON.stringify(format)}: ${why}`);
  };
  const v: Record<string, number> = {};
  let pos = 0;
  let pm: boolean | undefined;
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    if (c !== "%") {
      if (text[pos] !== c) fail(`expected ${JSON.stringify(c)} at position ${pos + 1}`);
      pos++;
      continue;
    }
    const d = format[++i];
    if (d === undefined) fail("the format ends with a lone %");
    const expanded = d === "F" ? "%Y-%m-%d" : d === "T" ? "%H:%M:%S" : undefined;
    if (expanded) {
      const sub = strptime(text.slice(pos, pos + 10 + (d === "T" ? -2 : 0)), expanded);
      Object.assign(v, d === "F" ? { Y: sub.year, m: sub.month, d: sub.day } : { H: sub.hour, M: sub.minute, S: sub.second });
      pos += d === "F" ? 10 : 8;
      continue;
    }
    const range = NUMERIC[d as string];
    if (range) {
      const m = new RegExp(`^\\d{${range[0]},${range[1]}}`).exec(text.slice(pos));
      if (!m) fail(`expected a number for %${d} at position ${pos + 1}`);
      const digits = (m as RegExpExecArray)[0];
      v[d as string] = d === "f" ? Number(digits.padEnd(6, "0")) : Number(digits);
      pos += digits.length;
    } else if (d === "b" || d === "B" || d === "a" || d === "A") {
      const names = d === "b" || d === "B" ? MONTHS : DAYS;
      const rest = text.slice(pos).toLowerCase();
      const idx = names.findIndex((n) => rest.startsWith(n.toLowerCase()));
      const short = names.findIndex((n) => rest.startsWith(n.slice(0, 3).toLowerCase()));
      const at = idx >= 0 ? idx : short;
      if (at < 0) fail(`expected a ${d === "b" || d === "B" ? "month" : "weekday"} name at position ${pos + 1}`);
      pos += idx >= 0 ? (names[idx] as string).length : 3;
      if (d === "b" || d === "B") v.m = at + 1;
    } else if (d === "p") {
      const ampm = text.slice(pos, pos + 2).toUpperCase();
      if (ampm !== "AM" && ampm !== "PM") fail(`expected AM or PM at position ${pos + 1}`);
      pm = ampm === "PM";
      pos += 2;
    } else if (d === "%") {
      if (text[pos] !== "%") fail(`expected "%" at position ${pos + 1}`);
      pos++;
    } else {
      throw new MacroError(`format ${JSON.stringify(format)} uses %${d}, which is not supported: use ${STRFTIME_DIRECTIVES}`);
    }
  }
  if (pos !== text.length) fail(`unexpected ${JSON.stringify(text.slice(pos))} at the end`);
  let hour = v.H ?? 0;
  if (v.I !== undefined) hour = (v.I % 12) + (pm ? 12 : 0);
  const year = v.Y ?? (v.y !== undefined ? (v.y < 69 ? 2000 + v.y : 1900 + v.y) : 1900);
  let month = v.m ?? 1;
  let day = v.d ?? 1;
  if (v.j !== undefined && v.m === undefined && v.d === undefined) {
    const date = new Date(Date.UTC(year, 0, v.j));
    month = date.getUTCMonth() + 1;
    day = date.getUTCDate();
  }
  const t: NaiveDateTime = { year, month, day, hour, minute: v.M ?? 0, second: v.S ?? 0, microsecond: v.f ?? 0 };
  const check = toDate(t);
  if (month < 1 || month > 12 || check.getUTCDate() !== day || hour > 23 || t.minute > 59 || t.second > 59) {
    fail("it is not a real date and time");
  }
  return t;
}
