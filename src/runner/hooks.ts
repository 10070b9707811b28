/**
 * Module-resolution hooks for a task: "airlock" resolves to the runner's own SDK, and when the task runs in an
 * environment every bare import must resolve inside that environment's node_modules — never the project's or the
 * orchestrator's.
 */
import { builtinModules } from "node:module";
import { pathToFileURL, fileURLToPath } from "node:url";
import path from "node:path";

interface HookData {
  sdkUrl: string;
  envRoot: string | null;
  envName: string | null;
}

interface ResolveContext {
  parentURL?: string;
  conditions?: string[];
  importAttributes?: Record<string, string>;
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<{ url: string; format?: string | null; shortCircuit?: boolean }>;

let data: HookData = { sdkUrl: "", envRoot: null, envName: null };
const builtins = new Set(builtinModules);

/** Receives the SDK location and the environment root from the runner. */
export function initialize(d: HookData): void {
  data = d;
}

const isBare = (s: string) => !/^(\.{0,2}\/|file:|node:|data:|https?:)/.test(s) && !builtins.has(s) && !builtins.has(s.split("/")[0] ?? "");

/** Resolves "airlock" to the SDK and confines bare specifiers to the environment. */
export async function resolve(specifier: string, context: ResolveContext, next: NextResolve) {
  if (specifier === "airlock") return { url: data.sdkUrl, shortCircuit: true, format: "module" };
  if (!data.envRoot || !isBare(specifier)) return next(specifier, context);
  const modules = path.join(data.envRoot, "node_modules") + path.sep;
  const parent = context.parentURL?.startsWith("file:") ? fileURLToPath(context.parentURL) : "";
  // Imports written in DAG code resolve from the environment; packages inside it resolve as usual.
  const parentURL = parent.startsWith(modules) ? context.parentURL : pathToFileURL(path.join(data.envRoot, "package.json")).href;
  let resolved;
  try {
    resolved = await next(specifier, { ...context, parentURL });
  } catch (err) {
    throw notInEnvironment(specifier, err);
  }
  if (resolved.url.startsWith("file:") && !fileURLToPath(resolved.url).startsWith(modules)) throw notInEnvironment(specifier);
  return resolved;
}

function notInEnvironment(specifier: string, cause?: unknown): Error {
  const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];
  const err = new Error(`Cannot find package '${name}' in environment '${data.envName}': add it to environments/${data.envName}/package.json and rebuild (airlock env build ${data.envName})`, { cause });
  (err as NodeJS.ErrnoException).code = "ERR_MODULE_NOT_FOUND";
  return err;
}
