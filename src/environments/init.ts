/** `airlock env init <name>`: a new environment folder with a package.json (or requirements.txt) and a commented environment.yaml. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { AirlockConfig } from "../config/config.js";
import { ConflictError } from "../core/errors.js";
import { checkEnvironmentName } from "./spec.js";

/** Options of `scaffoldEnvironment`. */
export interface ScaffoldOptions {
  /** Dependencies to declare, e.g. { lodash: "^4.17.21" }. @default {} */
  dependencies?: Record<string, string>;
  /** Node version to request (environment.yaml `node`). @default none (the orchestrator's Node) */
  node?: string;
  /** Make a Python environment (requirements.txt, no package.json) for this Python version, e.g. "3.11". */
  python?: string;
}

/** Creates environments/<name>/; returns the files written. Refuses to overwrite an existing environment. */
export function scaffoldEnvironment(config: Pick<AirlockConfig, "environmentsFolder">, name: string, options: ScaffoldOptions = {}): string[] {
  checkEnvironmentName(name);
  const dir = path.join(config.environmentsFolder, name);
  if (existsSync(path.join(dir, "package.json")) || existsSync(path.join(dir, "requirements.txt"))) {
    throw new ConflictError(`environment "${name}" already exists in ${dir}`, `edit its files, or choose another name`);
  }
  mkdirSync(dir, { recursive: true });
  const depsFile = path.join(dir, options.python ? "requirements.txt" : "package.json");
  writeFileSync(depsFile, options.python
    ? `# Python packages of environment "${name}", one requirement per line (e.g. pandas==2.2.3).\n`
    : `${JSON.stringify({ name: `environment-${name}`, private: true, dependencies: options.dependencies ?? {} }, null, 2)}\n`);
  const yamlFile = path.join(dir, "environment.yaml");
  writeFileSync(yamlFile, [
    `# Sealed environment "${name}". Tasks use it with isolated(task, { environment: "${name}" })${options.python ? ` or python({ ..., environment: "${name}" })` : ""}.`,
    options.python
      ? "# Packages go in requirements.txt; \"airlock env build\" writes requirements.lock (commit it)."
      : "# Dependencies go in package.json; \"airlock env build\" writes package-lock.json (commit it).",
    ...(options.python ? [`python: "${options.python}"`] : []),
    options.node ? `node: "${options.node}"` : '# node: "22"            # a major or an exact version; default: the orchestrator\'s Node',
    "# network: none         # none (default) or host",
    '# resources: { memory: "512Mi", cpu: 1, pids: 256 }   # defaults for its tasks',
    "# base: debian:bookworm-slim   # base image of docker builds",
    "# allowScripts: false   # run install scripts of dependencies",
    "",
  ].join("\n"));
  return [depsFile, yamlFile];
}
