/**
 * Errors of environment specs and builds. A bad spec is the user's to fix (exit 2); a failed build says what
 * failed (a package, a version, the registry) and what to do (exit 1).
 */
import { UserError, ValidationError } from "../core/errors.js";

/** An invalid environment spec; `field` is "<file>: <key>" relative to the project. */
export class EnvironmentSpecError extends ValidationError {
  override name = "EnvironmentSpecError";
}

/** An environment that does not exist in the environments folder. */
export class EnvironmentNotFoundError extends UserError {
  override name = "EnvironmentNotFoundError";
  constructor(name: string, folder: string) {
    super("not_found", `environment "${name}" was not found in ${folder}`,
      `create it with "airlock env init ${name}" or check the name`);
  }
}

/** Why a build failed. */
export type BuildFailure =
  | "package_not_found" | "version_not_found" | "registry_unreachable" | "runtime_not_found"
  | "install_failed" | "npm_missing" | "uv_missing" | "lock_timeout" | "system_packages_missing" | "sandbox_failed" | "target_unavailable";

/** A build that failed; the message names the package, version or registry, the hint says what to do. */
export class EnvironmentBuildError extends Error {
  override name = "EnvironmentBuildError";
  constructor(readonly code: BuildFailure, message: string, readonly hint: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
