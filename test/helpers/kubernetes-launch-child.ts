/**
 * A stand-in orchestrator for crash tests: launches one try on the kubernetes backend, prints its handle as one
 * JSON line, then keeps streaming until the test kills it with SIGKILL.
 * Usage: tsx kubernetes-launch-child.ts <request.json> <config.json>
 */
import { readFileSync } from "node:fs";
import { createKubernetesBackend } from "../../src/backends/kubernetes/index.js";
import type { LaunchRequest } from "../../src/backends/types.js";

const [requestFile, configFile] = process.argv.slice(2) as [string, string];
const request = JSON.parse(readFileSync(requestFile, "utf8")) as LaunchRequest;
const backend = createKubernetesBackend(JSON.parse(readFileSync(configFile, "utf8")) as Parameters<typeof createKubernetesBackend>[0]);
const running = await backend.launch(request);
process.stdout.write(`${JSON.stringify(running.handle)}\n`);
await running.exited;
