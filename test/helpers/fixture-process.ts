/**
 * Runs TypeScript fixtures (test/fixtures/*.ts) as real child processes through tsx, released at the same moment:
 * each prints "ready" once loaded and waits for a line on stdin before it acts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** What a fixture process printed and how it ended. */
export interface FixtureResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The JSON of its last stdout line. */
  json: unknown;
}

function start(fixture: string, args: string[]): { child: ChildProcess; ready: Promise<void>; done: Promise<FixtureResult> } {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "test", "fixtures", fixture), ...args], {
    cwd: ROOT, stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    if (stdout.startsWith("ready\n")) markReady();
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  // A child that already died cannot take the go line; its exit code tells the story.
  child.stdin?.on("error", () => undefined);
  const done = new Promise<FixtureResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      let json: unknown;
      try {
        json = JSON.parse(last);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
  return { child, ready, done };
}

/** Starts every fixture, releases them together once all are loaded, and waits for all to end. */
export async function runTogether(runs: Array<{ fixture: string; args: string[] }>, timeoutMs = 120_000): Promise<FixtureResult[]> {
  const started = runs.map((r) => start(r.fixture, r.args));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    started.forEach((s) => s.child.kill("SIGKILL"));
  }, timeoutMs);
  try {
    // A child that dies before it is ready ends the wait too; its result then says why.
    await Promise.all(started.map((s) => Promise.race([s.ready, s.done])));
    for (const s of started) s.child.stdin?.end("go\n");
    // One failed child may leave the others waiting for it forever: stop them all, so its reason is reported.
    for (const s of started) void s.done.then((r) => r.code !== 0 && started.forEach((o) => o !== s && o.child.kill("SIGKILL")));
    const results = await Promise.all(started.map((s) => s.done));
    // The first child that failed on its own (not killed by us) holds the reason.
    const order = [...results.keys()].sort((a, b) => Number(results[a]?.code === null) - Number(results[b]?.code === null));
    for (const i of order) {
      const r = results[i]!;
      if (r.code === 0) continue;
      const how = r.code === null && timedOut ? `was killed after ${timeoutMs} ms` : `exited with ${r.code}`;
      throw new Error(`fixture ${runs[i]?.fixture} ${runs[i]?.args.join(" ")} ${how}: ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return results;
  } finally {
    clearTimeout(timer);
    for (const s of started) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
  }
}
