/**
 * The environment key: sha256 over everything a build depends on — the resolved lockfiles, the runtime versions,
 * the Debian packages, the base image, the platform and whether install scripts run. Equal keys mean
 * interchangeable builds, so one key names the local build, the sandbox build and the image tag.
 */
import { createHash } from "node:crypto";
import { canonicalPythonLock } from "./python/lock.js";

/** Format of the hashed document; bump it when the inputs change meaning. */
const KEY_FORMAT = 1;

/** What the key hashes. */
export interface KeyInputs {
  /** The parsed package-lock.json; null for a Python-only environment. */
  lockfile: Record<string, unknown> | null;
  /** Exact Node version, without "v"; null for a Python-only environment (it does not depend on Node). */
  nodeVersion: string | null;
  /** A Python environment's resolved lock (requirements.lock) and exact interpreter version. */
  python?: { lock: string; version: string };
  /** Debian packages (packages.txt). */
  packages: string[];
  /** Base image, or null for the default. */
  base: string | null;
  /** Whether dependencies' install scripts run. */
  allowScripts: boolean;
  /** @default `${process.platform}-${process.arch}` */
  platform?: string;
}

/** The content key (64 hex characters) of a build with these inputs. */
export function environmentKey(inputs: KeyInputs): string {
  const doc = {
    format: KEY_FORMAT,
    lock: inputs.lockfile ? canonicalLock(inputs.lockfile) : null,
    node: inputs.nodeVersion,
    packages: [...inputs.packages].sort(),
    base: inputs.base,
    allowScripts: inputs.allowScripts,
    // Absent for Node-only environments, so their keys stay what they were.
    python: inputs.python ? { lock: canonicalPythonLock(inputs.python.lock), version: inputs.python.version } : undefined,
    platform: inputs.platform ?? `${process.platform}-${process.arch}`,
  };
  return createHash("sha256").update(stableStringify(doc)).digest("hex");
}

/** The short form shown to people (image tags and directories use the full key). */
export function shortKey(key: string): string {
  return key.slice(0, 12);
}

/**
 * What of a lockfile decides the installed tree: every package's version, integrity and dependencies.
 * `resolved` URLs are left out (they name a mirror, not content), as are the root's name and version.
 */
function canonicalLock(lock: Record<string, unknown>): unknown {
  const packages = (lock.packages ?? {}) as Record<string, Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  for (const [location, entry] of Object.entries(packages)) {
    const { resolved: _resolved, ...rest } = entry;
    if (location === "") {
      const { name: _name, version: _version, ...root } = rest;
      out[location] = root;
    } else out[location] = rest;
  }
  return out;
}

/** JSON with object keys sorted, so equal documents hash equally. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
