import { build } from "esbuild";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** Imports a TypeScript or JavaScript config module by compiling it with esbuild first. */
export async function loadTsModule(file: string): Promise<unknown> {
  const out = await build({ entryPoints: [file], bundle: true, platform: "node", format: "esm", write: false, packages: "external", target: "node20", logLevel: "silent" });
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-config-"));
  try {
    const target = path.join(dir, "config.mjs");
    writeFileSync(target, out.outputFiles[0]?.text ?? "");
    return await import(pathToFileURL(target).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
