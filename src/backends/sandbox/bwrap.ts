/**
 * The bubblewrap command line of a sandbox: fresh mount, pid, ipc, uts, user and (unless granted) network
 * namespaces; the system read-only; only the paths a try needs bound in, at the same paths as outside so the
 * payload's paths stay valid; one writable scratch directory.
 */
import { spawnSync } from "node:child_process";
import { lstatSync, readlinkSync, realpathSync } from "node:fs";
import path from "node:path";

/** What goes into one sandbox. */
export interface SandboxSpec {
  /** Host paths bound read-only at the same path. */
  readOnly: string[];
  /** Host paths bound writable at the same path. */
  writable: string[];
  /** Folders bound read-only at a different path inside, before `files`: [host, inside]. */
  mapped?: Array<[string, string]>;
  /** Files bound read-only at a different path inside: [host, inside]. */
  files?: Array<[string, string]>;
  network: "none" | "host";
  cwd: string;
  /** User and group ids inside the sandbox. @default 65534 (nobody) */
  uid?: number;
  gid?: number;
  /** A file descriptor (open in bwrap) holding the seccomp filter to install before the command runs. */
  seccompFd?: number;
  /** Size of the sandbox's own /tmp (a tmpfs, counted in the try's memory) in bytes. */
  tmpBytes?: number;
  command: string[];
}

/** Top-level system folders; on merged-/usr systems they are symlinks into /usr and recreated as such. */
const SYSTEM_DIRS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/**
 * What of /etc a program needs: the dynamic linker cache (multiarch libraries are found only through it),
 * alternatives (/usr/bin/awk and friends link there), TLS roots, time zones and name-service settings.
 * Nothing else of the host's /etc (credentials, configs) is visible.
 */
const ETC_FILES = [
  "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/ssl", "/etc/ca-certificates",
  "/etc/localtime", "/etc/timezone", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/mime.types", "/etc/os-release",
];
/** Name resolution files, bound only when the network is granted. */
const NETWORK_FILES = ["/etc/resolv.conf", "/etc/hosts"];
/** Global module folders hidden so nothing resolves from the orchestrator's global installs. */
const GLOBAL_MODULES = ["/usr/lib/node_modules", "/usr/local/lib/node_modules"];

/** The bwrap arguments (without "bwrap") for `spec`. */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const args = [
    "--unshare-all", ...(spec.network === "host" ? ["--share-net"] : []),
    "--unshare-user", "--uid", String(spec.uid ?? 65534), "--gid", String(spec.gid ?? 65534),
    // A new session: the task cannot push input into the orchestrator's terminal (TIOCSTI).
    "--new-session",
    "--cap-drop", "ALL",
    "--hostname", "airlock-sandbox",
    "--ro-bind", "/usr", "/usr",
  ];
  for (const dir of SYSTEM_DIRS) {
    const kind = entryKind(dir);
    if (kind === "symlink") args.push("--symlink", readlinkSync(dir), dir);
    else if (kind === "dir") args.push("--ro-bind", dir, dir);
  }
  for (const dir of GLOBAL_MODULES) if (entryKind(dir) === "dir") args.push("--tmpfs", dir);
  for (const file of [...ETC_FILES, ...(spec.network === "host" ? NETWORK_FILES : [])]) {
    // resolv.conf is often a symlink into /run: bind what it points to.
    const source = resolved(file);
    if (source) args.push("--ro-bind", source, file);
  }
  args.push("--proc", "/proc", "--dev", "/dev", ...(spec.tmpBytes ? ["--size", String(spec.tmpBytes)] : []), "--tmpfs", "/tmp");
  for (const [host, inside] of spec.mapped ?? []) args.push("--ro-bind", host, inside);
  for (const [host, inside] of spec.files ?? []) args.push("--ro-bind", host, inside);
  for (const p of unique(spec.readOnly)) args.push("--ro-bind", resolved(p) ?? p, p);
  for (const p of unique(spec.writable)) args.push("--bind", resolved(p) ?? p, p);
  // The root itself (a tmpfs holding the mount points) becomes read-only last.
  args.push("--remount-ro", "/", "--chdir", spec.cwd, ...(spec.seccompFd !== undefined ? ["--seccomp", String(spec.seccompFd)] : []), "--", ...spec.command);
  return args;
}

function entryKind(p: string): "symlink" | "dir" | "other" | null {
  try {
    const st = lstatSync(p);
    return st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "dir" : "other";
  } catch {
    return null;
  }
}

function resolved(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

function unique(paths: string[]): string[] {
  // Parents before children, so a child mount is not hidden by its parent's.
  return [...new Set(paths)].sort((a, b) => a.length - b.length);
}

/**
 * What to bind for a Node binary: a downloaded runtime's folder (bin/node, include/), or the orchestrator's own
 * binary when it lives outside /usr (which is bound anyway).
 */
export function runtimeMounts(node: string, downloaded: boolean): string[] {
  if (downloaded) return [path.dirname(path.dirname(node))];
  const real = resolved(node) ?? node;
  return real.startsWith("/usr/") ? [] : [real];
}

/** The bwrap version, or null when it is not installed. */
export function bwrapVersion(): string | null {
  const r = spawnSync("bwrap", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Runs a trivial command in a sandbox; returns bwrap's complaint when sandboxes cannot be made here. */
export function sandboxSmokeTest(): string | null {
  const r = spawnSync("bwrap", bwrapArgs({ readOnly: [], writable: [], network: "none", cwd: "/", command: ["/bin/sh", "-c", "exit 0"] }), { encoding: "utf8", timeout: 10_000 });
  if (r.status === 0) return null;
  return (r.stderr || r.error?.message || `exit ${r.status}`).trim();
}

/** Install hint shown when bwrap is missing. */
export const BWRAP_INSTALL_HINT =
  "install bubblewrap: sudo apt-get install bubblewrap (Debian/Ubuntu), sudo dnf install bubblewrap (Fedora), or sudo apk add bubblewrap (Alpine)";
