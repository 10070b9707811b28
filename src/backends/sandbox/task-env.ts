/** The environment variables of a sandboxed task: an allowlist, nothing else of the orchestrator's. */
import path from "node:path";
import type { LaunchRequest } from "../types.js";

/** Variables whose values a sandboxed task inherits (locale and terminal only; never AIRLOCK_*, credentials or URLs). */
export const SANDBOX_ENV_ALLOWLIST = ["LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TERM"] as const;

/**
 * PATH starts with the environment's Node and its packages' bin folder, so `node` and the packages' CLIs in a
 * bash task are the environment's; HOME and TMPDIR are the scratch directory.
 */
export function sandboxEnv(request: Pick<LaunchRequest, "scratchDir" | "environment">, nodeBinary: string, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of SANDBOX_ENV_ALLOWLIST) {
    const v = base[key];
    if (v !== undefined) env[key] = v;
  }
  const bins = [...(request.environment?.python ? [path.dirname(request.environment.python.binary)] : []), path.dirname(nodeBinary)];
  if (request.environment) bins.push(path.join(request.environment.root, "node_modules", ".bin"));
  env.PATH = [...new Set([...bins, "/usr/local/bin", "/usr/bin", "/bin"])].join(":");
  env.HOME = request.scratchDir;
  env.TMPDIR = request.scratchDir;
  return env;
}
