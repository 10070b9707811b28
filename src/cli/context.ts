/** Running a CLI action with a loaded configuration and an open store, mapping failures to exit codes. */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { CONFIG_FILES, loadConfig, locateProject, type AirlockConfig } from "../config/config.js";
import { createContext, type AirlockContext } from "../core/context.js";
import { UserError } from "../core/errors.js";
import { reportError } from "./output.js";

/** Raised when a command that needs a project runs outside one (it must never create a store there). */
export class NoProjectError extends UserError {
  override name = "NoProjectError";
}

/**
 * Loads the configuration of the project around the working directory, found like git finds its repository.
 * Outside a project, or when its DAGs folder is missing, it refuses instead of creating a store in a random folder.
 */
export async function config(): Promise<AirlockConfig> {
  const cwd = process.cwd();
  if (!locateProject(cwd)) {
    throw new NoProjectError("invalid_input", `no Airlock project here: neither ${cwd} nor a folder above it has ${CONFIG_FILES.join(", ")}`,
      "Run `airlock init` to create a project here, or cd into a project's folder");
  }
  const cfg = await loadConfig({ cwd });
  if (!existsSync(cfg.dagsFolder) || !statSync(cfg.dagsFolder).isDirectory()) {
    throw new NoProjectError("invalid_input", `the DAGs folder ${path.relative(cwd, cfg.dagsFolder) || "."} (dagsFolder in ${path.relative(cwd, cfg.projectDir) || "."}/airlock.config.*) does not exist`,
      `Create it (mkdir -p ${path.relative(cwd, cfg.dagsFolder)}) or fix "dagsFolder" in the configuration`);
  }
  return cfg;
}

/** Runs `fn` with a context; closes the store; sets the exit code from the result or error. */
export async function withContext(json: boolean, fn: (ctx: AirlockContext) => Promise<number | void>): Promise<void> {
  let ctx: AirlockContext | undefined;
  try {
    ctx = await createContext(await config());
    const code = await fn(ctx);
    process.exitCode = code ?? 0;
  } catch (err) {
    process.exitCode = reportError(err, json);
  } finally {
    await ctx?.store.close().catch(() => undefined);
  }
}

/** Runs `fn` (no store needed) and maps errors to exit codes. */
export async function guarded(json: boolean, fn: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await fn()) ?? 0;
  } catch (err) {
    process.exitCode = reportError(err, json);
  }
}
