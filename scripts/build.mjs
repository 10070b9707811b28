#!/usr/bin/env node
// Builds Airlock: type-checks and compiles src/ to dist/, bundles the self-contained runner (which runs inside
// sealed environments, possibly on another Node version), and builds the web UI when it is present.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const step = (name) => process.stdout.write(`build: ${name}\n`);

step("tsc");
execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.json")], { stdio: "inherit" });

step("runner bundle");
rmSync(path.join(root, "dist", "runner-chunks"), { recursive: true, force: true });
const common = {
  bundle: true, platform: "node", format: "esm", target: "node18", logLevel: "warning", sourcemap: false,
  // CommonJS dependencies (nunjucks) call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __airlockRequire } from 'node:module'; const require = __airlockRequire(import.meta.url);" },
  external: ["chokidar", "fsevents"],
};
// Split so that code only some tasks need (the template engine) sits in chunks parsed on first use: the runner's
// start-up is part of every try.
await build({
  ...common, entryPoints: { runner: path.join(root, "src/runner/main.ts") }, outdir: path.join(root, "dist"), splitting: true,
  chunkNames: "runner-chunks/[name]-[hash]", outExtension: { ".js": ".mjs" }, minifyWhitespace: true, minifySyntax: true, keepNames: true,
});
await build({ ...common, entryPoints: [path.join(root, "src/runner/hooks.ts")], outfile: path.join(root, "dist/runner-hooks.mjs") });

step("python runner");
// Plain standard library, copied as is: it runs in whatever interpreter the task's environment has.
mkdirSync(path.join(root, "dist", "runner-python"), { recursive: true });
copyFileSync(path.join(root, "src/runner-python/airlock_runner.py"), path.join(root, "dist/runner-python/airlock_runner.py"));

const vite = path.join(root, "ui/vite.config.ts");
if (existsSync(vite) && process.env.AIRLOCK_SKIP_UI !== "1") {
  step("web UI");
  execFileSync(process.execPath, [path.join(root, "node_modules/vite/bin/vite.js"), "build", "--config", vite, "--logLevel", "warn"], { stdio: "inherit", cwd: path.join(root, "ui") });
}
step("done");
