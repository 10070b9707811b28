/**
 * A real `airlock standalone` (scheduler + executor + API/UI) on a temp project, started through the package's
 * bin entry, and stopped with SIGTERM (then SIGKILL) by its process id.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A running standalone server. */
export interface Standalone {
  dir: string;
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Writes (or replaces) a file under the project's dags/ folder. */
  writeDag(name: string, source: string): void;
  stop(): Promise<void>;
}

/** Starts `airlock standalone --port 0` in a fresh project holding `dags` (file name → source). */
export async function startStandalone(options: { dags: Record<string, string>; tokens?: Array<{ token: string; role: "admin" | "read" }> }): Promise<Standalone> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-ui-"));
  mkdirSync(path.join(dir, "dags"));
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify({
    dagsFolder: "dags",
    defaultBackend: "process",
    scheduler: { parseIntervalMs: 500, pollIntervalMs: 200, dagsArePausedAtCreation: false },
    api: { tokens: options.tokens ?? [] },
  }, null, 2));
  for (const [name, source] of Object.entries(options.dags)) writeFileSync(path.join(dir, "dags", name), source);

  // The server must see this project's settings only, not the developer's or CI's AIRLOCK__ variables.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AIRLOCK")));
  const child: ChildProcess = spawn(process.execPath, [path.join(root, "bin", "airlock.js"), "standalone", "--port", "0"], {
    cwd: dir, env, stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url) {
    const m = /web UI and API: (http:\/\/\S+?)\/?\s/.exec(out);
    if (m?.[1]) url = m[1];
    else if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`airlock standalone did not start:\n${out}`);
    } else await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dir, url,
    output: () => out,
    writeDag: (name, source) => writeFileSync(path.join(dir, "dags", name), source),
    stop,
  };
}
