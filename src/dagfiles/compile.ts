/** Compiles a DAG file (TypeScript, with its relative imports) into one ES module keyed by content. */
import { build, type Plugin } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AIRLOCK_ROOT } from "../core/install.js";

/** The compiled module and its content hash. */
export interface CompiledDagFile {
  bundlePath: string;
  bundleHash: string;
  /** Absolute paths of the local files the bundle was built from (the DAG file and what it imports). */
  inputs: string[];
}

/** Raised when esbuild cannot compile the file; the message has file:line:column of each error. */
export class DagCompileError extends Error {
  override name = "DagCompileError";
}

// "airlock" stays a bare import: the runner's resolution hook maps it to the SDK wherever the runner lives.
const keepAirlockExternal: Plugin = {
  name: "airlock-external",
  setup(b) {
    b.onResolve({ filter: /^airlock$/ }, () => ({ path: "airlock", external: true }));
  },
};

/** Compiles `file` into `<outDir>/<hash>.mjs` (written atomically, reused when identical). */
export async function compileDagFile(file: string, outDir: string): Promise<CompiledDagFile> {
  let result;
  try {
    result = await build({
      // outdir (nothing is written) makes the source map's paths relative to where the bundle will live, so
      // stack traces of DAG code name the DAG file itself.
      entryPoints: [file], bundle: true, write: false, outdir: outDir, platform: "node", format: "esm", target: "node18",
      packages: "external", plugins: [keepAirlockExternal], logLevel: "silent", sourcemap: "inline",
      sourcesContent: false, metafile: true,
    });
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }).errors ?? [];
    const text = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text)).join("\n");
    throw new DagCompileError(text || (err as Error).message, { cause: err });
  }
  const code = result.outputFiles[0]?.text ?? "";
  const bundleHash = createHash("sha256").update(code).digest("hex");
  mkdirSync(outDir, { recursive: true });
  linkSdk(outDir);
  const bundlePath = path.join(outDir, `${bundleHash.slice(0, 32)}.mjs`);
  if (!existsSync(bundlePath)) {
    const tmp = `${bundlePath}.${process.pid}.tmp`;
    writeFileSync(tmp, code, { mode: 0o644 });
    renameSync(tmp, bundlePath);
  }
  // Metafile paths are relative to esbuild's working directory (this process's).
  const inputs = Object.keys(result.metafile?.inputs ?? {}).filter((f) => !f.includes(":")).map((f) => path.resolve(f));
  return { bundlePath, bundleHash, inputs: inputs.length > 0 ? inputs : [path.resolve(file)] };
}

/**
 * Makes "airlock" resolvable from compiled DAG modules by plain Node resolution (`<outDir>/node_modules/airlock` →
 * this installation), so tasks without an environment need no resolution hooks, which cost a loader thread per try.
 */
export function linkSdk(outDir: string): void {
  const link = path.join(outDir, "node_modules", "airlock");
  try {
    if (readlinkSync(link) === AIRLOCK_ROOT) return;
  } catch {
    // Missing or not a link: (re)create it below.
  }
  mkdirSync(path.dirname(link), { recursive: true });
  const tmp = `${link}.${process.pid}.tmp`;
  symlinkSync(AIRLOCK_ROOT, tmp, "dir");
  renameSync(tmp, link);
}
