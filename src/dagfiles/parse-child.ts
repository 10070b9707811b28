/**
 * Child process that parses one DAG file: compile, import, serialize, validate schedules. Runs outside the
 * scheduler so that a file that throws, hangs or exhausts memory cannot harm it. Reads {file, outDir} on stdin,
 * writes one JSON result on fd 3 (stdout/stderr are the file's own output).
 */
import { existsSync, writeSync } from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { isDag, type Dag } from "../sdk/dag.js";
import { serializeDag, type SerializedDag } from "../sdk/serialized.js";
import { AIRLOCK_DIST } from "../core/install.js";
import { validateSchedule } from "../scheduler/timetable.js";
import { compileDagFile } from "./compile.js";
import { PythonCodeError, shipPythonCode } from "./python-code.js";

/** What the child reports for a file. */
export type ParseResult =
  | { ok: true; bundlePath: string; bundleHash: string; dags: SerializedDag[]; inputs?: string[] }
  | { ok: false; error: string; inputs?: string[] };

function formatError(err: unknown, file: string): string {
  if (!(err instanceof Error)) return String(err);
  // Only stack frames: the message may itself name the file (compile errors do).
  const where = (err.stack ?? "").split("\n").find((l) => /^\s+at /.test(l) && l.includes(path.basename(file)));
  return `${err.name}: ${err.message}${where ? `\n${where.trim()}` : ""}`;
}

/** The files the result depends on: known once compiled; the DAG file alone when it does not compile. */
let inputs: string[] | undefined;

async function parse(file: string, outDir: string, catalogFile: string | undefined): Promise<ParseResult> {
  inputs = [path.resolve(file)];
  const compiled = await compileDagFile(file, outDir);
  inputs = compiled.inputs;
  // compileDagFile linked node_modules/airlock next to the bundle; hooks are only a fallback.
  if (!existsSync(path.join(path.dirname(compiled.bundlePath), "node_modules", "airlock", "package.json"))) {
    register(pathToFileURL(path.join(AIRLOCK_DIST, "runner-hooks.mjs")).href, {
      data: { sdkUrl: pathToFileURL(path.join(AIRLOCK_DIST, "sdk", "index.js")).href, envRoot: null, envName: null },
    });
  }
  const mod = (await import(pathToFileURL(compiled.bundlePath).href)) as Record<string, unknown>;
  const found: Dag[] = [];
  const consider = (v: unknown) => {
    for (const d of Array.isArray(v) ? v : [v]) if (isDag(d) && !found.includes(d)) found.push(d);
  };
  consider(mod.default);
  for (const [k, v] of Object.entries(mod)) if (k !== "default") consider(v);
  if (found.length === 0) {
    return { ok: false, error: `${path.basename(file)} defines no DAG: add \`export default dag({ id: "...", ... }, () => { ... })\`` };
  }
  const ids = new Set<string>();
  const dags: SerializedDag[] = [];
  for (const d of found) {
    if (ids.has(d.id)) return { ok: false, error: `${path.basename(file)} defines DAG "${d.id}" twice: DAG ids must be unique` };
    ids.add(d.id);
    const s = serializeDag(d);
    validateSchedule(s.schedule, s.timezone, s.startDate, s.endDate);
    if (s.pipeline && catalogFile) {
      // A pipeline's free inputs must come from the catalog: say so now, not when a run reaches the node. (Loaded
      // only for pipelines: every parse of a plain DAG file would pay for the YAML parser.)
      const { missingInputs, readCatalogFile } = await import("../datasets/catalog.js");
      const missing = missingInputs(s, { ...readCatalogFile(catalogFile), ...s.pipeline.catalog });
      if (missing.length > 0) return { ok: false, error: `pipeline "${s.id}": ${missing.join("; ")}`, inputs: [...compiled.inputs, catalogFile] };
    }
    dags.push(s);
  }
  // Edits of the Python code or of the catalog re-parse the file, giving a new DAG version.
  const usesCatalog = dags.some((d) => d.pipeline) && catalogFile;
  inputs = [...compiled.inputs, ...(usesCatalog ? [catalogFile] : []), ...shipPythonCode(file, outDir, dags)];
  return { ok: true, ...compiled, inputs, dags };
}

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const { file, outDir, catalogFile } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { file: string; outDir: string; catalogFile?: string };
let result: ParseResult;
try {
  result = await parse(file, outDir, catalogFile);
} catch (err) {
  if (err instanceof PythonCodeError && inputs) inputs = [...inputs, ...err.inputs];
  result = { ok: false, error: err instanceof PythonCodeError ? err.message : formatError(err, file) };
}
if (!result.ok && inputs) result.inputs = inputs;
writeSync(3, JSON.stringify(result));
process.exit(0);
