/**
 * Types of sealed environments: the spec a user writes in environments/<name>/, and the build made from it.
 * One content key names the local build, the sandbox build and the image tag.
 */
import type { Resources } from "../sdk/types.js";

/** Where an environment is built for. */
export type BuildTarget = "local" | "sandbox" | "docker";

/** All build targets, for validation and help texts. */
export const BUILD_TARGETS: readonly BuildTarget[] = ["local", "sandbox", "docker"];

/** The dependency fields of a package.json (the only part of it an environment build depends on). */
export interface PackageManifest {
  name?: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

/** A validated environment spec (environments/<name>/). All paths are absolute. */
export interface EnvironmentSpec {
  /** Folder name: lower-case letters, digits, '.', '_' and '-'. */
  name: string;
  /** The spec folder. */
  dir: string;
  /** Path of its package.json, or null for a Python-only environment. */
  packageJson: string | null;
  /** Parsed dependency fields of package.json (all empty without one). */
  manifest: PackageManifest;
  /** Path of its package-lock.json, or null before the first build writes it. */
  lockfile: string | null;
  /** Requested Node version ("22" or "22.12.0"); null = the orchestrator's own Node. */
  node: string | null;
  /** Network granted to every task in this environment. @default "none" */
  network: "none" | "host";
  /** Default resource limits of tasks in this environment (a task's own resources override them per field). */
  resources: Resources | null;
  /** Base image for image builds; null = the configured default. */
  base: string | null;
  /** Debian packages from packages.txt (name or name=version), in file order. */
  packages: string[];
  /** Run install scripts of dependencies (environment.yaml `allowScripts`). @default false */
  allowScripts: boolean;
  /** Tries of this environment run in long-lived runners, several tries per process (environment.yaml `reuse`). @default false */
  reuse: boolean;
  /** Path of its requirements.txt (a Python environment), or null. */
  requirements: string | null;
  /** Requested Python version ("3.11" or "3.11.7"); null = the host's python3 (docker: the image's). */
  python: string | null;
  /** Path of environment.yaml, or null when absent. */
  yamlFile: string | null;
  /** Path of packages.txt, or null when absent. */
  packagesFile: string | null;
}

/** A finished build of an environment, as recorded in its build folder. */
export interface EnvironmentBuild {
  /** Environment it was built for (environments with identical inputs share one build). */
  name: string;
  /** Content key (sha256 hex of the resolved inputs). */
  key: string;
  /** Build folder holding package.json, package-lock.json and node_modules. */
  root: string;
  /** Node binary of the environment's runtime; null = the orchestrator's own node. */
  nodeBinary: string | null;
  /** Exact Node version the environment runs on, without "v" (e.g. "22.12.0"). */
  nodeVersion: string;
  /** ISO time the build finished. */
  builtAt: string;
  /** Size of the build folder in bytes (runtime not included). */
  sizeBytes: number;
  /** Debian packages the build was made with (packages.txt). */
  packages: string[];
  /** The Python of a Python environment (its venv is `<root>/venv`); absent otherwise. */
  python?: { version: string; home: string } | null;
}

/** Whether an environment's current spec has a ready build. */
export type EnvironmentState = "built" | "not built" | "stale";

/** A task of a DAG. */
export interface TaskRef {
  dagId: string;
  taskId: string;
}

/** One row of `airlock env list`. */
export interface EnvironmentStatus {
  name: string;
  /** Key of the current spec; null when it cannot be known offline (no lockfile yet, runtime not downloaded). */
  key: string | null;
  state: EnvironmentState;
  /** Requested Node version (null = the orchestrator's). */
  node: string | null;
  /** Requested Python version of a Python environment (null = the host's python3, or not a Python environment). */
  python: string | null;
  /** Whether the environment has a requirements.txt. */
  isPython: boolean;
  /** Whether the environment has a package.json (false for Python-only environments). */
  isNode: boolean;
  /** The newest build of this environment, current or not. */
  build: EnvironmentBuild | null;
  sizeBytes: number | null;
  /** ISO time a task last used the build, or null. */
  lastUsed: string | null;
  /** Tasks of active DAGs that use the environment (empty without a store). */
  tasks: TaskRef[];
  /** Why the spec is invalid, when it is. */
  error: string | null;
}

/** Receives one human-readable progress line per build step. */
export type BuildLog = (line: string) => void;
