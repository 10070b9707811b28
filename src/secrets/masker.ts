/** Replaces secret values with *** in text (log lines, error messages, CLI output). */

const MIN_SECRET_LENGTH = 3;

/** Names whose values are treated as secrets (Airflow's sensitive field names). */
export const SENSITIVE_NAME = /(pass(word|wd)?|secret|token|api[_-]?key|private|credential|auth|access[_-]?key)/i;

/** Masks every occurrence of any given secret (and its URL-encoded form) in a string. */
export class Masker {
  private readonly pattern: RegExp | null;

  constructor(secrets: Iterable<string>) {
    const variants = new Set<string>();
    for (const s of secrets) {
      if (typeof s !== "string" || s.length < MIN_SECRET_LENGTH) continue;
      variants.add(s);
      variants.add(encodeURIComponent(s));
      variants.add(JSON.stringify(s).slice(1, -1));
      for (const line of s.split(/\r?\n/)) if (line.length >= MIN_SECRET_LENGTH + 3) variants.add(line);
    }
    const sorted = [...variants].sort((a, b) => b.length - a.length).map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    this.pattern = sorted.length > 0 ? new RegExp(sorted.join("|"), "g") : null;
  }

  /** True when there is nothing to mask. */
  get empty(): boolean {
    return this.pattern === null;
  }

  mask(text: string): string {
    return this.pattern ? text.replace(this.pattern, "***") : text;
  }

  /** Masks secrets in the strings (values and keys) of a JSON text; the result is still valid JSON. */
  maskJson(json: string): string {
    // search() ignores the global flag's lastIndex; most results hold no secret and are returned untouched.
    if (!this.pattern || json.search(this.pattern) < 0) return json;
    const walk = (v: unknown): unknown => {
      if (typeof v === "string") return this.mask(v);
      if (Array.isArray(v)) return v.map(walk);
      if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.mask(k), walk(x)]));
      return v;
    };
    return JSON.stringify(walk(JSON.parse(json)));
  }
}
