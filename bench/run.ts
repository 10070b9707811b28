/**
 * `npm run bench`: runs every suite in bench/suites (or those named on the command line), prints a table and writes
 * bench/results/<timestamp>.json (and latest.json). `--peers airflow` (or `--peers=airflow`) also runs the named
 * side-by-side comparisons of bench/peers; given alone, only those.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ensureBuilt, ROOT, type BenchRow } from "./lib.js";

const { only, peers } = parseArgs(process.argv.slice(2));
ensureBuilt();
const suites = readdirSync(path.join(ROOT, "bench", "suites")).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ""))
  .filter((s) => (only.length === 0 ? peers.length === 0 : only.includes(s))).sort((a, b) => (a === "core" ? -1 : b === "core" ? 1 : a.localeCompare(b)));
const knownPeers = readdirSync(path.join(ROOT, "bench", "peers")).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ""));
for (const p of peers) {
  if (!knownPeers.includes(p)) {
    process.stderr.write(`bench: --peers ${p} is unknown; known peers: ${knownPeers.join(", ")}\n`);
    process.exit(2);
  }
}

/** Suite names, and the peers named by `--peers a,b` / `--peers=a` (opt-in: never run by default). */
function parseArgs(argv: string[]): { only: string[]; peers: string[] } {
  const only: string[] = [];
  const peers: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--peers" || a.startsWith("--peers=")) {
      const value = a === "--peers" ? argv[++i] : a.slice("--peers=".length);
      if (!value) {
        process.stderr.write("bench: --peers needs a name, e.g. --peers airflow\n");
        process.exit(2);
      }
      peers.push(...value.split(",").filter(Boolean));
    } else if (a.startsWith("-")) {
      process.stderr.write(`bench: unknown option ${a}; use suite names and --peers <name>\n`);
      process.exit(2);
    } else only.push(a);
  }
  return { only, peers };
}
const rows: BenchRow[] = [];
const failures: Array<{ suite: string; error: string }> = [];
for (const s of suites) {
  process.stderr.write(`bench: ${s}…\n`);
  try {
    const mod = (await import(pathToFileURL(path.join(ROOT, "bench", "suites", `${s}.ts`)).href)) as { run(): Promise<BenchRow[]> };
    rows.push(...(await mod.run()));
  } catch (err) {
    failures.push({ suite: s, error: (err as Error).message });
    process.stderr.write(`bench: ${s} failed: ${(err as Error).stack}\n`);
  }
}
for (const p of peers) {
  process.stderr.write(`bench: peer ${p}…\n`);
  try {
    const mod = (await import(pathToFileURL(path.join(ROOT, "bench", "peers", `${p}.ts`)).href)) as { run(): Promise<BenchRow[]> };
    rows.push(...(await mod.run()));
  } catch (err) {
    failures.push({ suite: `peer ${p}`, error: (err as Error).message });
    process.stderr.write(`bench: peer ${p} failed: ${(err as Error).stack}\n`);
  }
}
const fmt = (v: number) => (!Number.isFinite(v) ? "n/a" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
const w = Math.max(...rows.map((r) => `${r.suite}  ${r.name}`.length), 10);
process.stdout.write(`${"benchmark".padEnd(w)}  ${"value".padStart(10)}  unit      goal\n${"-".repeat(w + 32)}\n`);
for (const r of rows) process.stdout.write(`${`${r.suite}  ${r.name}`.padEnd(w)}  ${fmt(r.value).padStart(10)}  ${r.unit.padEnd(8)}  ${[r.goal, r.note].filter(Boolean).join("  ")}\n`);
for (const f of failures) process.stdout.write(`FAILED ${f.suite}: ${f.error}\n`);
const out = { at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), rows, failures };
mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true });
const file = path.join(ROOT, "bench", "results", `${out.at.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify(out, null, 2));
writeFileSync(path.join(ROOT, "bench", "results", "latest.json"), JSON.stringify(out, null, 2));
process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
process.exitCode = failures.length > 0 ? 1 : 0;
