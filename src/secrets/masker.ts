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
}
