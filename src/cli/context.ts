/** Running a CLI action with a loaded configuration and an open store, mapping failures to exit codes. */
import { loadConfig, type AirlockConfig } from "../config/config.js";
import { createContext, type AirlockContext } from "../core/context.js";
import { reportError } from "./output.js";

/** Loads the configuration of the current project. */
export function config(): Promise<AirlockConfig> {
  return loadConfig({ cwd: process.cwd() });
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
