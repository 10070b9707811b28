/**
 * Running npm for builds, and turning its failures into messages that name the package, the version or the
 * registry instead of a stack trace.
 */
import { spawn } from "node:child_process";
import { EnvironmentBuildError } from "./errors.js";

/** Options of `runNpm`. */
export interface NpmOptions {
  cwd: string;
  /** Extra environment variables (over the orchestrator's, minus npm's per-invocation ones). */
  env?: Record<string, string>;
  /** What is being built, for messages ("environment \"lodash3\""). */
  subject: string;
  /** Lets a caller stop a build. */
  signal?: AbortSignal;
}

/** Settings npm passes to child processes of `npm run`; inherited, they would bend our install. */
const INVOCATION_VARS = /^npm_(lifecycle_|package_|command$|execpath$|node_execpath$|config_(prefix|global|location|workspaces?|include_workspace_root|omit|include|production|dry_run|ignore_scripts|package_lock_only|save.*|only|also|cache_min|offline|prefer_online)$)/i;

/** The environment npm runs with: the orchestrator's (registry, proxy and auth settings) minus invocation leftovers. */
export function npmEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !INVOCATION_VARS.test(k)) env[k] = v;
  return { ...env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...extra };
}

/** Runs `npm <args>`; resolves with its stdout, rejects with a classified EnvironmentBuildError. */
export function runNpm(args: string[], options: NpmOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", args, {
      cwd: options.cwd,
      env: npmEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
      signal: options.signal,
    });
    let stdout = "";
    let stderr = "";
    // stdout is the answer (e.g. `npm pack --json` lists thousands of files); stderr only feeds messages.
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr = tail(stderr + d.toString()); });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") {
        reject(new EnvironmentBuildError("npm_missing", "npm was not found on PATH", "install Node.js with npm, or put npm on PATH", { cause: err }));
      } else reject(err);
    });
    child.on("close", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(classifyNpmFailure(`npm ${args[0] ?? ""}`, options.subject, stderr + stdout, code, signal));
    });
  });
}

function tail(s: string): string {
  return s.length > 64 * 1024 ? s.slice(-64 * 1024) : s;
}

/** Turns npm's error output into an EnvironmentBuildError that names what is wrong. */
export function classifyNpmFailure(command: string, subject: string, output: string, code: number | null, signal: NodeJS.Signals | null): EnvironmentBuildError {
  const lines = output.split("\n").map((l) => l.replace(/^npm (error|ERR!) ?/, "").trim());
  const text = lines.join("\n");
  const errCode = /^code (\S+)/m.exec(text)?.[1];

  const notFound = /'([^']+)' (?:is not in (?:this|the npm) registry|could not be found)/.exec(text)
    ?? /404 Not Found - GET \S+\/(@[^/\s]+%2f[^/\s]+|[^/\s]+)/.exec(text);
  if (errCode === "E404" && notFound?.[1]) {
    const pkg = decodeURIComponent(notFound[1]);
    return new EnvironmentBuildError("package_not_found", `${subject}: package ${pkg} was not found in the registry`,
      "check the package name in its package.json (and, for a private package, your registry and auth settings)");
  }
  const noTarget = /No matching version found for (\S+?)\.?$/m.exec(text);
  if (errCode === "ETARGET" && noTarget?.[1]) {
    return new EnvironmentBuildError("version_not_found", `${subject}: no published version matches ${noTarget[1]}`,
      "fix the version range in its package.json (npm view <package> versions lists the published ones)");
  }
  const network = /request to (\S+) failed, reason: (.+)$/m.exec(text);
  if (network?.[1] || (errCode && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|ENETUNREACH|CERT_|SELF_SIGNED|UNABLE_TO)/.test(errCode))) {
    const url = network?.[1] ? registryOf(network[1]) : "the npm registry";
    return new EnvironmentBuildError("registry_unreachable",
      `${subject}: could not reach the npm registry ${url} (${errCode ?? network?.[2] ?? "network error"})`,
      "check the network, proxy settings and the npm \"registry\" setting, then build again");
  }
  if (errCode === "EINVALIDPACKAGENAME" || errCode === "EINVALIDTAGNAME") {
    const what = lines.find((l) => /Invalid (package|tag) name/i.test(l)) ?? errCode;
    return new EnvironmentBuildError("package_not_found", `${subject}: ${what}`, "fix the dependency in its package.json");
  }
  const summary = lines.filter((l) => l && !/^(A complete log|\s*at |npm warn)/.test(l)).slice(-6).join("; ");
  const how = signal ? `was killed by ${signal}` : `exited with code ${code ?? "?"}`;
  return new EnvironmentBuildError("install_failed", `${subject}: ${command} ${how}${summary ? `: ${summary}` : ""}`,
    "run the same npm command in a copy of the environment folder to see the full output");
}

/** The registry part of a package URL (drops the package path). */
function registryOf(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    const segments = u.pathname.split("/").filter(Boolean);
    // Metadata URLs end in the package name; tarball URLs in <name>/-/<file>; scoped names may be two segments.
    const dash = segments.indexOf("-");
    let start = dash > 0 ? dash - 1 : segments.length - 1;
    if (start > 0 && segments[start - 1]?.startsWith("@")) start -= 1;
    return `${u.origin}/${segments.slice(0, Math.max(0, start)).join("/")}`;
  } catch {
    return url;
  }
}
