/**
 * A stand-in orchestrator for crash tests: launches one try on the docker backend, prints its handle as one JSON
 * line, then keeps streaming until the test kills it with SIGKILL.
 * Usage: tsx docker-launch-child.ts <request.json> <distDir> <stateDir>
 */
import { readFileSync } from "node:fs";
import { createDockerBackend } from "../../src/backends/docker/index.js";
import type { LaunchRequest } from "../../src/backends/types.js";

const [requestFile, distDir, stateDir] = process.argv.slice(2) as [string, string, string];
const request = JSON.parse(readFileSync(requestFile, "utf8")) as LaunchRequest;
const backend = createDockerBackend({
  project: "airlock-test", stateDir, environmentsFolder: stateDir, projectDir: stateDir,
  docker: { socketPath: null, host: null, registry: null, baseImage: null },
}, { distDir });
const running = await backend.launch(request);
process.stdout.write(`${JSON.stringify(running.handle)}\n`);
await running.exited;
