/**
 * Ships the Python code of `python` tasks with the DAG version: at parse time every .py file of the DAG file's
 * folder is copied into `<bundle dir>/python/<hash>/` (content-addressed, written once, read-only for tasks), and
 * each python task records that hash. A run then uses the code of the version it was created with, and every
 * backend only needs to make one folder readable, as it does for the compiled DAG module.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseCallable } from "../sdk/python.js";
import type { SerializedDag } from "../sdk/serialized.js";

/** Most .py files and bytes one DAG folder may ship; beyond that the code belongs in an environment's package. */
const MAX_FILES = 2000;
const MAX_BYTES = 64 * 1024 * 1024;
/** Folders never shipped: caches, virtual environments, Node packages, hidden folders. */
const SKIP_DIR = /^(\..*|__pycache__|node_modules|site-packages)$/;

/** Folder of the shipped Python code with `hash`, next to the compiled DAG modules in `bundleDir`. */
export function pythonCodeDir(bundleDir: string, hash: string): string {
  return path.join(bundleDir, "python", hash);
}

/** A python task whose callable file is missing, or a DAG folder with too much Python code. */
export class PythonCodeError extends Error {
  override name = "PythonCodeError";
  /** What to watch so that fixing the problem re-parses the DAG file. */
  inputs: string[] = [];
}

/**
 * Copies the .py files of `dagFile`'s folder into `outDir` when a DAG of the file has python tasks, checks that
 * every callable file exists, and sets `args.code` of those tasks. Returns the files read (inputs of the parse).
 */
export function shipPythonCode(dagFile: string, outDir: string, dags: SerializedDag[]): string[] {
  const tasks = dags.flatMap((d) => Object.values(d.tasks).filter((t) => t.kind === "python").map((t) => ({ dag: d.id, task: t })));
  if (tasks.length === 0) return [];
  const root = path.dirname(path.resolve(dagFile));
  const files = listPythonFiles(root);
  for (const { dag, task } of tasks) {
    const { file } = parseCallable(String(task.args.callable));
    if (!files.includes(path.normalize(file))) {
      const err = new PythonCodeError(`python("${task.id}") in DAG "${dag}": ${file} was not found next to ${path.basename(dagFile)} (callable paths are relative to the DAG file's folder); create it or fix the callable`);
      // A folder's time changes when a file is created in it: watch the nearest existing one.
      let dir = path.dirname(path.join(root, file));
      while (!existsSync(dir) && dir.startsWith(root)) dir = path.dirname(dir);
      err.inputs = [dir, ...files.map((f) => path.join(root, f))];
      throw err;
    }
  }
  const hash = createHash("sha256");
  const contents = files.map((f) => {
    const data = readFileSync(path.join(root, f));
    hash.update(`${f}\0${data.length}\0`).update(data);
    return { file: f, data };
  });
  const digest = hash.digest("hex").slice(0, 32);
  const target = pythonCodeDir(outDir, digest);
  if (!existsSync(target)) {
    const tmp = `${target}.${randomUUID().slice(0, 8)}.tmp`;
    for (const { file, data } of contents) {
      mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
      writeFileSync(path.join(tmp, file), data, { mode: 0o644 });
    }
    try {
      renameSync(tmp, target);
    } catch (err) {
      // Another parse of the same code won the race: its copy is identical.
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(target)) throw err;
    }
  }
  for (const { task } of tasks) task.args.code = digest;
  return files.map((f) => path.join(root, f));
}

/** The .py files under `root`, relative and sorted; refuses folders too large to ship with every DAG version. */
function listPythonFiles(root: string): string[] {
  const out: string[] = [];
  let bytes = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIR.test(e.name) && !existsSync(path.join(full, "pyvenv.cfg"))) walk(full);
      } else if (e.isFile() && e.name.endsWith(".py")) {
        out.push(path.relative(root, full));
        bytes += statSync(full).size;
        if (out.length > MAX_FILES || bytes > MAX_BYTES) {
          throw new PythonCodeError(`the folder of the DAG file (${root}) holds more than ${MAX_FILES} .py files or ${MAX_BYTES / 1024 / 1024} MiB of them, all shipped with every version of its DAGs; keep task code small and move libraries into an environment's requirements.txt`);
        }
      }
    }
  };
  walk(root);
  return out.sort();
}
