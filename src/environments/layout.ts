/**
 * Where builds live in the state directory:
 *   <stateDir>/environments/<key>/            a finished build (package.json, package-lock.json, node_modules)
 *   <stateDir>/environments/<key>/.airlock-build.json   its record; written last, so its presence means "ready"
 *   <stateDir>/environments/.names/<name>.json           the newest build of an environment name
 *   <stateDir>/environments/.locks/                      build locks
 *   <stateDir>/environments/.tmp/                        builds in progress (renamed into place when done)
 *   <stateDir>/runtimes/<version>/bin/node               Node runtimes
 */
import path from "node:path";
import type { AirlockConfig } from "../config/config.js";

/** Name of the record a finished build holds. */
export const BUILD_RECORD = ".airlock-build.json";
/** File whose mtime is the time a task last used a build. */
export const LAST_USED = ".airlock-last-used";

/** Paths of builds and runtimes for one state directory. */
export interface EnvironmentLayout {
  builds: string;
  names: string;
  locks: string;
  tmp: string;
  runtimes: string;
}

/** Options that move the runtime cache (e.g. one shared by several projects or test runs). */
export interface LayoutOptions {
  /** Directory of Node runtimes. @default "<stateDir>/runtimes" */
  runtimesDir?: string;
}

/** The layout of `config.stateDir`. */
export function environmentLayout(config: Pick<AirlockConfig, "stateDir">, options: LayoutOptions = {}): EnvironmentLayout {
  const builds = path.join(config.stateDir, "environments");
  return {
    builds,
    names: path.join(builds, ".names"),
    locks: path.join(builds, ".locks"),
    tmp: path.join(builds, ".tmp"),
    runtimes: options.runtimesDir ?? path.join(config.stateDir, "runtimes"),
  };
}

/** Folder of the build with `key`. */
export function buildDir(layout: EnvironmentLayout, key: string): string {
  return path.join(layout.builds, key);
}
