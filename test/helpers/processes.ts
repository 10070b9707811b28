/** What the host's process list shows: used to prove that no argv holds a secret. */
import { readdirSync, readFileSync } from "node:fs";

/** Every process on the host whose command line contains `text`, as "pid: argv". */
export function processesHolding(text: string): string[] {
  const hits: string[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmdline.includes(text)) hits.push(`${pid}: ${cmdline.replace(/\0/g, " ")}`);
    } catch {
      // The process ended meanwhile.
    }
  }
  return hits;
}
