/**
 * A stand-in orchestrator for restart tests: launches one try on the sandbox backend, prints its handle as one
 * JSON line, and exits at once, leaving the try running (as after a crash). With "warm", the try is handed to a
 * warm sandbox, and the line also lists the spare warm sandboxes left waiting (pid and cgroup), which must end
 * with this process.
 * Usage: tsx sandbox-launch-child.ts <request.json> <distDir> <projectDir> [warm]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { createSandboxBackend } from "../../src/backends/sandbox/index.js";
import type { LaunchRequest } from "../../src/backends/types.js";
import { WARM_LAUNCH_DEFAULTS } from "../../src/config/warm-launch.js";

const [requestFile, distDir, projectDir, mode] = process.argv.slice(2) as [string, string, string, string | undefined];
const request = JSON.parse(readFileSync(requestFile, "utf8")) as LaunchRequest;
const warm = mode === "warm";
const backend = createSandboxBackend({
  projectDir, stateDir: path.join(projectDir, ".airlock"), environmentsFolder: path.join(projectDir, "environments"),
}, { distDir, warm: warm ? WARM_LAUNCH_DEFAULTS : null });
if (warm) backend.prewarm(request);
const running = await backend.launch(request);
// The replacement of the taken sandbox starts on the next turn of the event loop.
await new Promise((r) => setImmediate(r));
const spare = backend.warmPool?.pids() ?? [];
process.stdout.write(`${JSON.stringify({ handle: running.handle, spare })}\n`);
process.exit(0);
