/**
 * Builds Airlock once before the suite when dist/ is missing or older than src/ (tests run the real CLI and the
 * bundled runner). The UI is built only when its bundle is missing or stale.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function newest(dir: string): number {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name === "dist") continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Vitest global setup. */
export function setup(): void {
  const runner = path.join(root, "dist", "runner.mjs");
  const built = existsSync(runner) ? statSync(runner).mtimeMs : 0;
  const ui = path.join(root, "ui", "dist", "index.html");
  const uiBuilt = existsSync(ui) ? statSync(ui).mtimeMs : 0;
  const srcChanged = newest(path.join(root, "src")) > built;
  const uiChanged = newest(path.join(root, "ui")) > uiBuilt;
  if (!srcChanged && !uiChanged) return;
  execFileSync(process.execPath, [path.join(root, "scripts", "build.mjs")], {
    cwd: root, stdio: "inherit", env: { ...process.env, AIRLOCK_SKIP_UI: uiChanged ? "0" : "1" },
  });
}
