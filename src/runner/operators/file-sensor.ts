/** fileSensor: pokes until a path (a `*` glob in its last segment) exists, or times out. */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { parseDuration } from "../../sdk/duration.js";
import { TaskSkipped } from "../../sdk/errors.js";

/**
 * Ends one unsuccessful poke of a sensor in mode "reschedule": the orchestrator parks the task until its next
 * poke instead of failing it (it honours this only for sensors in that mode).
 */
export class SensorReschedule extends Error {
  override name = "SensorReschedule";
}

/** Raised when a sensor times out without soft-fail. */
export class SensorTimeout extends Error {
  override name = "SensorTimeout";
}

function matches(p: string): string | null {
  if (!p.includes("*")) return existsSync(p) ? p : null;
  const dir = path.dirname(p);
  const re = new RegExp(`^${path.basename(p).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
  try {
    const hit = readdirSync(dir).find((f) => re.test(f));
    return hit ? path.join(dir, hit) : null;
  } catch {
    return null;
  }
}

/** Waits for the rendered path; returns the path found as XCom. */
export async function runFileSensor(args: Record<string, unknown>): Promise<string> {
  const target = String(args.path);
  const interval = parseDuration((args.pokeInterval as string | number | undefined) ?? "30s", "pokeInterval");
  const timeout = parseDuration((args.timeout as string | number | undefined) ?? "7d", "timeout");
  // A rescheduling sensor's timeout counts from its first poke, which the orchestrator passes in.
  const reschedule = args.mode === "reschedule";
  const firstPoke = typeof args.firstPokeAt === "string" ? Date.parse(args.firstPokeAt) : Date.now();
  const deadline = (Number.isNaN(firstPoke) ? Date.now() : firstPoke) + timeout;
  for (;;) {
    const hit = matches(target);
    if (hit) {
      process.stdout.write(`found ${hit}\n`);
      return hit;
    }
    if (Date.now() >= deadline) {
      const msg = `file ${target} did not appear within ${timeout} ms`;
      if (args.softFail === true) throw new TaskSkipped(`${msg} (soft fail: skipped)`);
      throw new SensorTimeout(msg);
    }
    process.stdout.write(`poking for ${target}\n`);
    if (reschedule) throw new SensorReschedule(`${target} does not exist yet`);
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
}
