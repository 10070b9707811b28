/**
 * Loading and validating environment specs: environments/<name>/package.json (+ package-lock.json),
 * environment.yaml and packages.txt. Every error names the file and the field, and says how to fix it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { AirlockConfig } from "../config/config.js";
import { EnvironmentNotFoundError, EnvironmentSpecError } from "./errors.js";
import { checkResources } from "./resources.js";
import { PYTHON_VERSION } from "./python/interpreter.js";
import type { EnvironmentSpec, PackageManifest } from "./types.js";

/** Valid environment names (also used in image names). */
export const ENVIRONMENT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A Node major ("22") or an exact version ("22.12.0"). */
const NODE_VERSION = /^(\d{1,3})(\.\d+\.\d+)?$/;

/** Debian package names (policy 5.6.1), optionally pinned with =version. */
const DEBIAN_PACKAGE = /^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/;

const yamlSchema = z.object({
  node: z.union([z.string(), z.number()]).transform((v) => String(v)),
  network: z.enum(["none", "host"]),
  resources: z.object({
    memory: z.union([z.string(), z.number()]),
    cpu: z.number(),
    pids: z.number(),
    scratch: z.union([z.string(), z.number()]),
  }).strict().partial(),
  base: z.string().min(1),
  allowScripts: z.boolean(),
  reuse: z.boolean(),
  python: z.string("must be a quoted version string"),
}).strict().partial();

const dependencyMap = z.record(z.string(), z.string());

/** Lists the names of the environments in the environments folder (folders holding a package.json or requirements.txt). */
export function listEnvironmentNames(config: Pick<AirlockConfig, "environmentsFolder">): string[] {
  if (!existsSync(config.environmentsFolder)) return [];
  return readdirSync(config.environmentsFolder, { withFileTypes: true })
    .filter((d) => d.isDirectory() && ENVIRONMENT_NAME.test(d.name))
    .map((d) => d.name)
    .filter((name) => ["package.json", "requirements.txt"].some((f) => existsSync(path.join(config.environmentsFolder, name, f))))
    .sort();
}

/** Checks an environment name; throws an EnvironmentSpecError that says what names look like. */
export function checkEnvironmentName(name: string): void {
  if (!ENVIRONMENT_NAME.test(name)) {
    throw new EnvironmentSpecError("environment name", `"${name}" is not a valid name`,
      "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)");
  }
}

/** Loads and validates environments/<name>/ of the project. */
export function loadEnvironmentSpec(config: Pick<AirlockConfig, "environmentsFolder" | "projectDir">, name: string): EnvironmentSpec {
  checkEnvironmentName(name);
  const dir = path.join(config.environmentsFolder, name);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new EnvironmentNotFoundError(name, rel(config, config.environmentsFolder));
  const where = (file: string) => rel(config, path.join(dir, file));

  const packageJson = existsSync(path.join(dir, "package.json")) ? path.join(dir, "package.json") : null;
  const requirements = existsSync(path.join(dir, "requirements.txt")) ? path.join(dir, "requirements.txt") : null;
  if (!packageJson && !requirements) {
    throw new EnvironmentSpecError(where("package.json"), "file is missing",
      `every environment needs a package.json (Node dependencies) or a requirements.txt (Python packages); "airlock env init ${name}" writes a package.json`);
  }
  const manifest = packageJson ? readManifest(packageJson, where("package.json")) : EMPTY_MANIFEST;

  const lockPath = path.join(dir, "package-lock.json");
  const lockfile = packageJson && existsSync(lockPath) ? lockPath : null;
  if (lockfile) readLockfile(lockfile, where("package-lock.json"));

  const yamlPath = path.join(dir, "environment.yaml");
  if (existsSync(path.join(dir, "environment.yml"))) {
    throw new EnvironmentSpecError(where("environment.yml"), "unexpected file name", "rename it to environment.yaml");
  }
  const options = existsSync(yamlPath) ? readYamlOptions(yamlPath, where("environment.yaml")) : {};

  const packagesPath = path.join(dir, "packages.txt");
  const packages = existsSync(packagesPath) ? readPackagesTxt(packagesPath, where("packages.txt")) : [];

  return {
    name,
    dir,
    packageJson,
    manifest,
    lockfile,
    node: options.node ?? null,
    network: options.network ?? "none",
    resources: options.resources && Object.keys(options.resources).length > 0 ? options.resources : null,
    base: options.base ?? null,
    packages,
    allowScripts: options.allowScripts ?? false,
    reuse: options.reuse ?? false,
    requirements,
    python: options.python ?? null,
    yamlFile: existsSync(yamlPath) ? yamlPath : null,
    packagesFile: existsSync(packagesPath) ? packagesPath : null,
  };
}

const EMPTY_MANIFEST: PackageManifest = { dependencies: {}, devDependencies: {}, optionalDependencies: {}, peerDependencies: {} };

function rel(config: Pick<AirlockConfig, "projectDir">, file: string): string {
  const r = path.relative(config.projectDir, file);
  return r.startsWith("..") ? file : r;
}

function readJson(file: string, where: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new EnvironmentSpecError(where, `is not valid JSON (${(err as Error).message})`, "fix the syntax", { cause: err });
  }
}

function readManifest(file: string, where: string): PackageManifest {
  const data = readJson(file, where);
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new EnvironmentSpecError(where, "must be a JSON object", 'write e.g. { "dependencies": { "lodash": "^4.17.21" } }');
  }
  const obj = data as Record<string, unknown>;
  const field = (key: keyof Omit<PackageManifest, "name">): Record<string, string> => {
    if (obj[key] === undefined) return {};
    const parsed = dependencyMap.safeParse(obj[key]);
    if (!parsed.success) {
      throw new EnvironmentSpecError(`${where}: ${key}`, "must map package names to version ranges",
        `write e.g. "${key}": { "lodash": "^4.17.21" }`);
    }
    return parsed.data;
  };
  if (obj.workspaces !== undefined) {
    throw new EnvironmentSpecError(`${where}: workspaces`, "workspaces are not supported in an environment",
      "list the packages the tasks need under dependencies instead");
  }
  return {
    ...(typeof obj.name === "string" ? { name: obj.name } : {}),
    dependencies: field("dependencies"),
    devDependencies: field("devDependencies"),
    optionalDependencies: field("optionalDependencies"),
    peerDependencies: field("peerDependencies"),
  };
}

/** Reads a package-lock.json; throws when it is not a lockfile npm ci can use. */
export function readLockfile(file: string, where: string): Record<string, unknown> {
  const data = readJson(file, where);
  const version = (data as { lockfileVersion?: unknown } | null)?.lockfileVersion;
  if (typeof data !== "object" || data === null || typeof version !== "number" || version < 2) {
    throw new EnvironmentSpecError(`${where}: lockfileVersion`, "is missing or older than 2",
      "delete the lockfile and run \"airlock env build\" to write a current one");
  }
  return data as Record<string, unknown>;
}

function readYamlOptions(file: string, where: string): z.infer<typeof yamlSchema> {
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, "utf8")) ?? {};
  } catch (err) {
    throw new EnvironmentSpecError(where, `is not valid YAML (${(err as Error).message})`, "fix the syntax", { cause: err });
  }
  const parsed = yamlSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => [...issue.path, k].join(".")).join(", ");
      throw new EnvironmentSpecError(`${where}: ${keys}`, "unknown key",
        "remove it or check the spelling; known keys: node, python, network, resources (memory, cpu, pids, scratch), base, allowScripts, reuse");
    }
    const key = issue?.path.join(".") || "(top level)";
    throw new EnvironmentSpecError(`${where}: ${key}`, issue?.message ?? "invalid", hintFor(key));
  }
  const options = parsed.data;
  if (options.node !== undefined && !NODE_VERSION.test(options.node)) {
    throw new EnvironmentSpecError(`${where}: node`, `"${options.node}" is not a Node version`,
      'use a major version such as "18", "20" or "22", or an exact version such as "22.12.0"');
  }
  if (options.node !== undefined && Number(options.node.split(".")[0]) < 16) {
    throw new EnvironmentSpecError(`${where}: node`, `Node ${options.node} is too old`, "use Node 18 or newer");
  }
  if (options.python !== undefined && !PYTHON_VERSION.test(options.python)) {
    throw new EnvironmentSpecError(`${where}: python`, `"${options.python}" is not a Python version`, hintFor("python"));
  }
  if (options.resources) {
    const bad = checkResources(options.resources);
    if (bad) throw new EnvironmentSpecError(`${where}: resources.${bad.field}`, bad.message, hintFor(`resources.${bad.field}`));
  }
  return options;
}

function hintFor(key: string): string {
  if (key === "node") return 'write node: "22" (a major) or node: "22.12.0" (exact)';
  if (key === "python") return 'write python: "3.11" (a minor, quoted) or python: "3.11.7" (exact)';
  if (key === "network") return 'use network: none (default) or network: host';
  if (key.startsWith("resources")) return 'write e.g. resources: { memory: "256Mi", cpu: 1, pids: 256 }';
  if (key === "base") return "name a Debian-based image, e.g. debian:bookworm-slim";
  if (key === "allowScripts") return "use allowScripts: true to run install scripts of dependencies";
  if (key === "reuse") return "write reuse: true (tries of this environment share long-lived runner processes) or reuse: false (a fresh process per try, the default)";
  return "see the environment.yaml keys: node, python, network, resources, base, allowScripts, reuse";
}

function readPackagesTxt(file: string, where: string): string[] {
  const packages: string[] = [];
  readFileSync(file, "utf8").split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    for (const pkg of line.split(/\s+/)) {
      if (!DEBIAN_PACKAGE.test(pkg)) {
        throw new EnvironmentSpecError(`${where}: line ${i + 1}`, `"${pkg}" is not a Debian package name`,
          "write one package per line, e.g. curl or libvips42=8.14.1-3");
      }
      packages.push(pkg);
    }
  });
  return packages;
}
