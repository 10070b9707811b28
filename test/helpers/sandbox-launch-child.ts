/**
 * A stand-in orchestrator for restart tests: launches one try on the sandbox backend, prints its handle as one
 * JSON line, and exits at once, leaving the try running (as after a crash).
 * Usage: tsx sandbox-launch-child.ts <request.json> <distDir> <projectDir>
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { createSandboxBackend } from "../../src/backends/sandbox/index.js";
import type { LaunchRequest } from "../../src/backends/types.js";

const [requestFile, distDir, projectDir] = process.argv.slice(2) as [string, string, string];
const request = JSON.parse(readFileSync(requestFile, "utf8")) as LaunchRequest;
const backend = createSandboxBackend({
  projectDir, stateDir: path.join(projectDir, ".airlock"), environmentsFolder: path.join(projectDir, "environments"),
}, { distDir });
const running = await backend.launch(request);
process.stdout.write(`${JSON.stringify(running.handle)}\n`);
process.exit(0);
