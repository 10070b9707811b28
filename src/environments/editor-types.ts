/**
 * Types for editors: the packages of a sealed environment live only in its build, so an editor (or `tsc`) looking
 * at a DAG file's `fn` code that imports one would find nothing. This links each environment dependency's type
 * declarations into the project's `node_modules/@types/<name>` — types only, never code, so nothing at run time
 * resolves an environment package from the project — where TypeScript looks for them:
 * - the dependency's `@types/<name>` package from the build, if the environment has one;
 * - else the package itself when it ships its own declarations (`types`/`typings`, or an index.d.ts);
 * - else, and for environments not built yet, a declaration of the module as `any`, so the file still checks.
 * Entries it made are listed in `node_modules/@types/.airlock-environments.json` and replaced on each run; an
 * `@types` package the project installed itself is never touched.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { listEnvironments, type CatalogOptions } from "./catalog.js";
import { loadEnvironmentSpec } from "./spec.js";
import type { AirlockConfig } from "../config/config.js";

type ProjectConfig = Pick<AirlockConfig, "environmentsFolder" | "projectDir" | "stateDir">;

/** Where one module's types came from. */
export type TypeSource = "types-package" | "bundled" | "any";

/** One module made visible to editors. */
export interface TypeLink {
  module: string;
  environment: string;
  source: TypeSource;
  /** The declarations linked to (null for an `any` declaration). */
  target: string | null;
}

/** What a run did. */
export interface EditorTypesResult {
  /** `node_modules/@types` of the project. */
  dir: string;
  links: TypeLink[];
  /** Modules several environments provide: the first environment (by name) wins. */
  conflicts: Array<{ module: string; environments: string[] }>;
  /** Modules left alone because the project installed its own `@types/<name>`. */
  kept: string[];
}

const MANIFEST = ".airlock-environments.json";

/** `@types` folder name of a module: "lodash" → "lodash", "@scope/pkg" → "scope__pkg" (DefinitelyTyped's rule). */
export function typesName(module: string): string {
  return module.startsWith("@") ? module.slice(1).replace("/", "__") : module;
}

function hasOwnTypes(pkgDir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8")) as { types?: string; typings?: string };
    return Boolean(pkg.types ?? pkg.typings) || existsSync(path.join(pkgDir, "index.d.ts"));
  } catch {
    return false;
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Links (or declares) the types of every Node environment's dependencies into the project's node_modules/@types. */
export async function writeEditorTypes(config: ProjectConfig, options: CatalogOptions = {}): Promise<EditorTypesResult> {
  const dir = path.join(config.projectDir, "node_modules", "@types");
  mkdirSync(dir, { recursive: true });
  const manifestFile = path.join(dir, MANIFEST);
  let previous: string[] = [];
  try {
    previous = JSON.parse(readFileSync(manifestFile, "utf8")) as string[];
  } catch {
    // First run.
  }
  for (const name of previous) rmSync(path.join(dir, name), { recursive: true, force: true });

  const chosen = new Map<string, TypeLink>();
  const providers = new Map<string, string[]>();
  const kept = new Set<string>();
  for (const env of await listEnvironments(config, options)) {
    if (!env.isNode || env.error) continue;
    let deps: string[];
    try {
      deps = Object.keys(loadEnvironmentSpec(config, env.name).manifest.dependencies).filter((d) => !d.startsWith("@types/"));
    } catch {
      continue;
    }
    const modules = env.build ? path.join(env.build.root, "node_modules") : null;
    for (const module of deps) {
      providers.set(module, [...(providers.get(module) ?? []), env.name]);
      if (chosen.has(module)) continue;
      const entry = path.join(dir, typesName(module));
      if (exists(entry)) {
        kept.add(module);
        continue;
      }
      const typesPkg = modules ? path.join(modules, "@types", typesName(module)) : null;
      const ownPkg = modules ? path.join(modules, module) : null;
      let link: TypeLink;
      if (typesPkg && existsSync(typesPkg)) link = { module, environment: env.name, source: "types-package", target: typesPkg };
      else if (ownPkg && hasOwnTypes(ownPkg)) link = { module, environment: env.name, source: "bundled", target: ownPkg };
      else link = { module, environment: env.name, source: "any", target: null };
      if (link.target) symlinkSync(link.target, entry, "dir");
      else {
        mkdirSync(entry, { recursive: true });
        writeFileSync(path.join(entry, "package.json"), `${JSON.stringify({ name: `@types/${typesName(module)}`, private: true, types: "index.d.ts" })}\n`);
        writeFileSync(path.join(entry, "index.d.ts"), `// Written by Airlock: "${module}" of environment "${env.name}" has no type declarations${modules ? "" : " yet (build it: airlock env build " + env.name + ")"}.\n// Add @types/${typesName(module)} to the environment's dependencies for real types.\ndeclare const untyped: any;\nexport = untyped;\n`);
      }
      chosen.set(module, link);
    }
  }
  const links = [...chosen.values()];
  writeFileSync(manifestFile, `${JSON.stringify(links.map((l) => typesName(l.module)), null, 2)}\n`);
  const conflicts = [...providers].filter(([m, envs]) => envs.length > 1 && chosen.has(m)).map(([module, environments]) => ({ module, environments }));
  return { dir, links, conflicts, kept: [...kept] };
}
