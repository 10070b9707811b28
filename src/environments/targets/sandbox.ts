/**
 * The sandbox target: a local build checked to run under bubblewrap. The sandbox shares the host's /usr
 * read-only, so the Debian packages of packages.txt must be installed on the host; this says which are not.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { BWRAP_INSTALL_HINT, bwrapArgs, bwrapVersion, runtimeMounts } from "../../backends/sandbox/bwrap.js";
import { EnvironmentBuildError } from "../errors.js";
import type { BuildLog, EnvironmentBuild, EnvironmentSpec } from "../types.js";
import { VENV_DIR, venvPython } from "../python/venv.js";

/** Checks that `build` runs in a sandbox on this host: its packages are installed and its Node starts there. */
export function verifySandboxBuild(spec: EnvironmentSpec, build: EnvironmentBuild, log: BuildLog = () => {}): void {
  if (!bwrapVersion()) throw new EnvironmentBuildError("target_unavailable", "bubblewrap (bwrap) is not installed", BWRAP_INSTALL_HINT);
  const missing = missingPackages(spec.packages);
  if (missing.length > 0) {
    throw new EnvironmentBuildError("system_packages_missing",
      `environment "${spec.name}": packages.txt names Debian packages not installed on this host: ${missing.join(", ")}`,
      `sandboxes see the host's system read-only: install them with apt-get install ${missing.join(" ")}, or use --target docker`);
  }
  if (build.python) verifySandboxPython(spec, build, log);
  if (!spec.packageJson) return;
  log("starting the environment's Node in a sandbox");
  const node = build.nodeBinary ?? process.execPath;
  const readOnly = [build.root, ...runtimeMounts(node, build.nodeBinary !== null)];
  const script = `process.stdout.write(process.version + " " + require("fs").readdirSync(${JSON.stringify(path.join(build.root, "node_modules"))}).length)`;
  const r = spawnSync("bwrap", bwrapArgs({ readOnly, writable: [], network: "none", cwd: "/", command: [node, "-e", script] }), { encoding: "utf8", timeout: 30_000, env: { PATH: "/usr/bin:/bin" } });
  if (r.status !== 0 || !r.stdout.startsWith(`v${build.nodeVersion} `)) {
    throw new EnvironmentBuildError("sandbox_failed", `environment "${spec.name}" does not start in a sandbox: ${(r.stderr || r.error?.message || r.stdout || `exit ${r.status}`).trim()}`,
      "check that bubblewrap works here (airlock env build --target sandbox names the failing step) and that the runtime matches this platform");
  }
}

/** Debian packages (name or name=version) that dpkg does not report as installed. */
export function missingPackages(packages: string[]): string[] {
  if (packages.length === 0) return [];
  const names = packages.map((p) => p.split("=")[0] as string);
  const r = spawnSync("dpkg-query", ["-W", "-f=${Package} ${Version} ${db:Status-Status}\\n", ...names], { encoding: "utf8" });
  if (r.error) return packages; // no dpkg: nothing can be confirmed
  const installed = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const [name, version, status] = line.split(" ");
    if (name && version && status === "installed") installed.set(name.split(":")[0] as string, version);
  }
  return packages.filter((p) => {
    const [name, version] = p.split("=") as [string, string | undefined];
    const have = installed.get(name);
    return have === undefined || (version !== undefined && have !== version);
  });
}

/** Starts the venv's Python in a sandbox, seeing only the build and the interpreter's installation. */
function verifySandboxPython(spec: EnvironmentSpec, build: EnvironmentBuild, log: BuildLog): void {
  log("starting the environment's Python in a sandbox");
  const home = path.resolve(build.python?.home ?? "/usr");
  const readOnly = [build.root, ...(home === "/usr" || home.startsWith("/usr/") ? [] : [home])];
  const script = "import sys; print('%d.%d.%d' % sys.version_info[:3], sys.prefix)";
  const r = spawnSync("bwrap", bwrapArgs({ readOnly, writable: [], network: "none", cwd: "/", command: [venvPython(build.root), "-I", "-B", "-c", script] }), { encoding: "utf8", timeout: 30_000, env: { PATH: "/usr/bin:/bin" } });
  if (r.status !== 0 || r.stdout.trim() !== `${build.python?.version} ${path.join(build.root, VENV_DIR)}`) {
    throw new EnvironmentBuildError("sandbox_failed", `the Python of environment "${spec.name}" does not start in a sandbox: ${(r.stderr || r.error?.message || r.stdout || `exit ${r.status}`).trim()}`,
      "check that bubblewrap works here and that the interpreter the venv was made with is still installed");
  }
}
