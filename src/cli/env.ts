/**
 * `airlock env init|build|list|show|rm|prune|deploy`: managing sealed environments (isolationctl's job).
 * Read commands take --json; exit codes are 0 ok, 1 a build or deploy failed, 2 bad input.
 */
import { existsSync, readFileSync } from "node:fs";
import { Command, Option } from "commander";
import type { AirlockConfig } from "../config/config.js";
import { config as projectConfig } from "./context.js";
import type { Store } from "../store/store.js";
import {
  buildEnvironment, EnvironmentBuildError, formatBytes, listEnvironmentNames, listEnvironments, loadEnvironmentSpec,
  pruneEnvironments, removeEnvironment, scaffoldEnvironment, shortKey, showEnvironment, BUILD_TARGETS, specKey, environmentLayout,
  type BuildResult, type BuildTarget, type EnvironmentStatus, type Removal, writeEditorTypes, typesName, type EditorTypesResult,
} from "../environments/index.js";
import { EXIT_CODES, printJson, printTable, reportError, UsageError } from "./output.js";
import { runWithProgress } from "./env-progress.js";
import { confirm } from "./confirm.js";
import { listJson } from "./json-shapes.js";

/** A store as far as this command needs it. */
export type EnvStore = Pick<Store, "listDags"> & { close?: () => Promise<void> };

/** What the command needs from its host; everything has a default. */
export interface EnvCommandDeps {
  /** @default the project around the working directory (refused outside a project) */
  config?: () => Promise<AirlockConfig>;
  /** Opens the store that tells which tasks use an environment. @default the configured store, when it exists */
  store?: (config: AirlockConfig) => Promise<EnvStore | null>;
}

/** The `env` command. */
export function envCommand(deps: EnvCommandDeps = {}): Command {
  const getConfig = deps.config ?? projectConfig;
  const openStore = deps.store ?? defaultStore;
  const cmd = new Command("env").description("sealed environments: declared dependencies and Node runtime, built and cached by content key");

  const run = async (json: boolean, fn: (config: AirlockConfig) => Promise<number | void>): Promise<void> => {
    try {
      process.exitCode = (await fn(await getConfig())) ?? EXIT_CODES.ok;
    } catch (err) {
      process.exitCode = err instanceof EnvironmentBuildError ? reportBuildError(err, json) : reportError(err, json);
    }
  };
  const withStore = async <T>(config: AirlockConfig, fn: (store: EnvStore | null) => Promise<T>): Promise<T> => {
    const store = await openStore(config);
    try {
      return await fn(store);
    } finally {
      await store?.close?.().catch(() => undefined);
    }
  };

  cmd.command("init").argument("<name>", "environment name").description("create environments/<name>/ with package.json and environment.yaml")
    .option("--node <version>", 'Node version for its tasks, e.g. "22" or "22.12.0"')
    .option("--dep <spec...>", "dependencies as name@range, e.g. --dep lodash@^4.17.21")
    .option("--python <version>", 'a Python environment (requirements.txt) for this Python, e.g. "3.11"')
    .action((name: string, o: { node?: string; dep?: string[]; python?: string }) => run(false, async (config) => {
      const files = scaffoldEnvironment(config, name, { dependencies: parseDeps(o.dep ?? []), ...(o.node ? { node: o.node } : {}), ...(o.python ? { python: o.python } : {}) });
      // Validate what was written (e.g. a bad --node) right away, naming the file.
      loadEnvironmentSpec(config, name);
      process.stdout.write(`created environment "${name}":\n${files.map((f) => `  ${f}`).join("\n")}\nnext: add dependencies to its ${o.python ? "requirements.txt" : "package.json"}, then run: airlock env build ${name}\n`);
    }));

  cmd.command("build").argument("[names...]", "environments to build (default: all)").description("build environments (cached by key; an unchanged build is a no-op)")
    .addOption(new Option("--target <target>", "what to build for").choices([...BUILD_TARGETS]).default("local"))
    .option("--force", "build again even when a build with the same key exists")
    .option("--refresh-runtime", 'look for a newer Node of a requested major (node: "22") instead of the cached one')
    .option("--json", "print the builds as JSON (progress goes to stderr)")
    .action((names: string[], o: { target: BuildTarget; force?: boolean; refreshRuntime?: boolean; json?: boolean }) => run(Boolean(o.json), async (config) => {
      const chosen = names.length > 0 ? names : listEnvironmentNames(config);
      if (chosen.length === 0) throw new UsageError(`no environments in ${config.environmentsFolder}`, "create one with: airlock env init <name>");
      // Names given explicitly are checked before anything is built; "build all" builds every valid one.
      if (names.length > 0) for (const name of names) loadEnvironmentSpec(config, name);
      const results = await runWithProgress(chosen.map((name) => ({
        title: name,
        run: async (step: (line: string) => void) => {
          const result = await buildEnvironment(config, name, { log: step, force: o.force, refreshRuntime: o.refreshRuntime });
          const image = await buildForTarget(config, o.target, result, step);
          const runtimes = [result.spec.packageJson ? `Node ${result.build.nodeVersion}` : null, result.build.python ? `Python ${result.build.python.version}` : null].filter(Boolean).join(", ");
          const summary = `${result.cached ? "up to date" : "built"} ${shortKey(result.build.key)}, ${runtimes}, ${formatBytes(result.build.sizeBytes)}${image ? `, image ${image.image}${image.cached ? " (cached)" : ""}` : ""}`;
          return { value: { result, image }, summary };
        },
      })), { json: Boolean(o.json) });
      const failures = results.filter((r) => !r.ok);
      await refreshEditorTypes(config, Boolean(o.json));
      if (o.json) {
        printJson({
          target: o.target,
          environments: results.map((r) => r.ok
            ? { name: r.title, ok: true, cached: r.value.result.cached, ...buildJson(r.value.result), image: r.value.image?.image ?? null }
            : { name: r.title, ok: false, error: errorJson(r.error) }),
        });
      } else {
        for (const f of failures) if (!f.ok) printHint(f.error);
      }
      if (failures.some((f) => !f.ok && isBadInput(f.error))) return EXIT_CODES.usage;
      return failures.length > 0 ? EXIT_CODES.failed : EXIT_CODES.ok;
    }));

  cmd.command("types").description("make environment packages' types visible to editors and tsc (node_modules/@types of the project); env build does it too")
    .option("--json", "print as JSON")
    .action((o: { json?: boolean }) => run(Boolean(o.json), async (config) => {
      const r = await writeEditorTypes(config);
      if (o.json) return printJson({ dir: r.dir, items: r.links, conflicts: r.conflicts, kept: r.kept });
      if (r.links.length === 0) process.stdout.write("no Node environment has dependencies\n");
      for (const l of r.links) {
        process.stdout.write(`${l.module} (${l.environment}): ${l.source === "types-package" ? `@types/${typesName(l.module)}` : l.source === "bundled" ? "its own types" : "no types: declared as any"}\n`);
      }
      printTypeNotes(r);
    }));

  cmd.command("list").description("environments: key, state (built / not built / stale), size, last use, tasks using them")
    .option("--json", "print as JSON")
    .action((o: { json?: boolean }) => run(Boolean(o.json), async (config) => {
      const list = await withStore(config, (store) => listEnvironments(config, { store }));
      if (o.json) return printJson(listJson(list.map(statusJson)));
      printTable(list.map((e) => ({
        NAME: e.name, KEY: e.key ? shortKey(e.key) : e.build ? `${shortKey(e.build.key)} (old)` : "-", STATE: e.error ? "invalid" : e.state,
        NODE: !e.isNode ? "-" : e.build?.nodeVersion ?? e.node ?? "orchestrator's",
        PYTHON: e.isPython ? (e.build?.python?.version ?? e.python ?? "host") : "-", SIZE: e.sizeBytes === null ? "-" : formatBytes(e.sizeBytes),
        "LAST USED": e.lastUsed ?? "-", TASKS: e.tasks.length === 0 ? "-" : e.tasks.map((t) => `${t.dagId}.${t.taskId}`).join(", "),
      })), ["NAME", "KEY", "STATE", "NODE", "PYTHON", "SIZE", "LAST USED", "TASKS"]);
      for (const e of list) if (e.error) process.stdout.write(`\n${e.name}: ${e.error}\n`);
    }));

  cmd.command("show").argument("<name>", "environment name").description("one environment: spec, key, build, tasks using it")
    .option("--json", "print as JSON")
    .action((name: string, o: { json?: boolean }) => run(Boolean(o.json), async (config) => {
      const env = await withStore(config, (store) => showEnvironment(config, name, { store }));
      const { spec } = env;
      const doc = {
        ...statusJson(env),
        spec: { dir: spec.dir, node: spec.node, network: spec.network, resources: spec.resources, base: spec.base, packages: spec.packages,
          allowScripts: spec.allowScripts, lockfile: spec.lockfile, dependencies: spec.manifest.dependencies,
          python: spec.python, requirements: spec.requirements, pythonRequirements: pythonRequirements(spec.requirements) },
      };
      if (o.json) return printJson(doc);
      const lines = [
        `name:         ${env.name}`,
        `state:        ${env.state}`,
        `key:          ${env.key ?? "(unknown until built: no lockfile yet or the runtime is not downloaded)"}`,
        `node:         ${!spec.packageJson ? "-" : `${spec.node ?? "the orchestrator's"}${env.build ? ` (built with ${env.build.nodeVersion})` : ""}`}`,
        `network:      ${spec.network}`,
        `resources:    ${spec.resources ? JSON.stringify(spec.resources) : "-"}`,
        `base:         ${spec.base ?? "-"}`,
        `packages:     ${spec.packages.join(" ") || "-"}`,
        `dependencies: ${Object.entries(spec.manifest.dependencies).map(([k, v]) => `${k}@${v}`).join(", ") || "-"}`,
        `python:       ${spec.requirements ? `${spec.python ?? "the host's python3"}${env.build?.python ? ` (built with ${env.build.python.version})` : ""}` : "-"}`,
        `requirements: ${pythonRequirements(spec.requirements).join(", ") || "-"}`,
        `build:        ${env.build ? `${env.build.root} (${formatBytes(env.build.sizeBytes)}, built ${env.build.builtAt})` : "-"}`,
        `last used:    ${env.lastUsed ?? "-"}`,
        `tasks:        ${env.tasks.map((t) => `${t.dagId}.${t.taskId}`).join(", ") || "-"}`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    }));

  cmd.command("rm").argument("<name>", "environment name").description("remove the builds of an environment (its folder in environments/ stays)")
    .option("--dry-run", "only show what would be removed")
    .option("--json", "print as JSON")
    .action((name: string, o: { dryRun?: boolean; json?: boolean }) => run(Boolean(o.json), async (config) => {
      const known = listEnvironmentNames(config).includes(name);
      const removed = removeEnvironment(config, name, { dryRun: o.dryRun });
      if (!known && removed.length === 0) throw new UsageError(`environment "${name}" has no spec and no builds`, "list them with: airlock env list");
      printRemovals(removed, { json: Boolean(o.json), dryRun: Boolean(o.dryRun) });
    }));

  cmd.command("prune").description("remove builds no DAG uses (superseded builds, and environments no active DAG names)")
    .option("--dry-run", "only show what would be removed")
    .option("-y, --yes", "remove without asking")
    .option("--json", "print as JSON")
    .action((o: { dryRun?: boolean; yes?: boolean; json?: boolean }) => run(Boolean(o.json), async (config) => {
      const removed = await withStore(config, async (store) => {
        if (!store && !o.json) process.stderr.write("note: no store found; pruning only superseded builds and builds whose spec is gone\n");
        if (!o.dryRun && !o.yes) {
          // Show what would go and ask: a prune deletes builds that may take minutes to make again.
          const planned = await pruneEnvironments(config, { store, dryRun: true });
          if (planned.length === 0) return planned;
          if (!o.json) printRemovals(planned, { json: false, dryRun: true });
          if (!(await confirm(`Remove ${planned.length === 1 ? "this build" : `these ${planned.length} builds`}?`))) {
            throw new UsageError("not confirmed: nothing was removed", "Answer y on a terminal, or pass --yes (for scripts); --dry-run only lists");
          }
        }
        return pruneEnvironments(config, { store, dryRun: o.dryRun });
      });
      printRemovals(removed, { json: Boolean(o.json), dryRun: Boolean(o.dryRun) });
    }));

  cmd.command("deploy").argument("<name>", "environment name").description("push the environment's image to a registry (building it first when there is none)")
    .option("--registry <host:port>", "registry to push to (default: kubernetes.registry, else docker.registry)")
    .option("--json", "print as JSON")
    .action((name: string, o: { registry?: string; json?: boolean }) => run(Boolean(o.json), async (config) => {
      const spec = loadEnvironmentSpec(config, name);
      const registry = o.registry ?? config.kubernetes.registry ?? config.docker.registry;
      if (!registry) throw new UsageError("no registry to deploy to", "pass --registry host:port, or set kubernetes.registry in the config");
      const docker = await dockerTarget();
      const log = (line: string) => (o.json ? process.stderr : process.stdout).write(`[${name}] ${line}\n`);
      // Deploy the image of the current spec, not merely the newest local image of that name; build it when missing.
      const result = await buildEnvironment(config, name, { log });
      await buildForTarget(config, "docker", result, log);
      const key = specKey(spec, environmentLayout(config)) ?? result.build.key;
      const { reference, digest } = await docker.deployEnvironment(config, name, { registry, log, key });
      if (o.json) printJson({ name, reference, digest });
      else process.stdout.write(`deployed ${reference} (${digest})\n`);
    }));

  return cmd;
}

/** After builds: refresh the types editors see; a failure here never fails the build. */
async function refreshEditorTypes(config: AirlockConfig, json: boolean): Promise<void> {
  try {
    const r = await writeEditorTypes(config);
    if (!json && r.links.length > 0) process.stdout.write(`types for editors: ${r.links.length} module${r.links.length === 1 ? "" : "s"} in node_modules/@types (airlock env types lists them)\n`);
    if (!json) printTypeNotes(r);
  } catch (err) {
    process.stderr.write(`warning: could not update the types editors see: ${(err as Error).message}\n`);
  }
}

function printTypeNotes(r: EditorTypesResult): void {
  for (const c of r.conflicts) process.stderr.write(`note: ${c.module} is in environments ${c.environments.join(", ")}; editors see the types of ${c.environments[0]}\n`);
  for (const m of r.kept) process.stderr.write(`note: ${m}: the project's own @types/${typesName(m)} is kept\n`);
}

type DockerTarget = typeof import("../environments/targets/docker.js");

async function dockerTarget(): Promise<DockerTarget> {
  // The docker target is optional (its engine client may be absent from a build); a variable specifier keeps it so.
  const specifier: string = "../environments/targets/docker.js";
  try {
    return (await import(specifier)) as DockerTarget;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") {
      throw new EnvironmentBuildError("target_unavailable", "docker target not available in this installation", "use --target local or sandbox, or install an Airlock build with Docker support", { cause: err });
    }
    throw err;
  }
}

async function buildForTarget(config: AirlockConfig, target: BuildTarget, result: BuildResult, step: (line: string) => void): Promise<{ image: string; cached: boolean } | null> {
  if (target === "local") return null;
  if (target === "sandbox") {
    const { verifySandboxBuild } = await import("../environments/targets/sandbox.js");
    verifySandboxBuild(result.spec, result.build, step);
    return null;
  }
  const docker = await dockerTarget();
  return docker.buildEnvironmentImage(config, result.spec, result.build, { log: step });
}

async function defaultStore(config: AirlockConfig): Promise<EnvStore | null> {
  // Listing environments must not create a store as a side effect: open only one that exists.
  if (config.store.startsWith("sqlite:") && !existsSync(config.store.slice("sqlite:".length))) return null;
  const { openStore } = await import("../store/index.js");
  return openStore(config.store);
}

function parseDeps(specs: string[]): Record<string, string> {
  const deps: Record<string, string> = {};
  for (const spec of specs) {
    const m = /^(@?[^@\s]+)(?:@(.+))?$/.exec(spec);
    if (!m?.[1]) throw new UsageError(`--dep ${spec} is not name@range`, "write e.g. --dep lodash@^4.17.21");
    deps[m[1]] = m[2] ?? "*";
  }
  return deps;
}

function buildJson(r: BuildResult) {
  return {
    key: r.build.key, root: r.build.root, nodeVersion: r.build.nodeVersion, nodeBinary: r.build.nodeBinary,
    pythonVersion: r.build.python?.version ?? null, sizeBytes: r.build.sizeBytes, builtAt: r.build.builtAt,
  };
}

/** The requirement lines of a requirements.txt (comments and blank lines left out). */
function pythonRequirements(file: string | null): string[] {
  if (!file) return [];
  return readFileSync(file, "utf8").split("\n").map((l) => l.replace(/(^|\s)#.*$/, "").trim()).filter(Boolean);
}

function statusJson(e: EnvironmentStatus) {
  return {
    name: e.name, key: e.key, state: e.state, node: e.node, nodeVersion: e.build?.nodeVersion ?? null,
    python: e.isPython ? (e.build?.python?.version ?? e.python ?? "host python3") : null, sizeBytes: e.sizeBytes,
    lastUsed: e.lastUsed, builtAt: e.build?.builtAt ?? null, buildKey: e.build?.key ?? null, tasks: e.tasks, error: e.error,
  };
}

function printRemovals(removed: Removal[], o: { json: boolean; dryRun: boolean }): void {
  if (o.json) return printJson({ dryRun: o.dryRun, removed, freedBytes: removed.reduce((n, r) => n + r.sizeBytes, 0) });
  if (removed.length === 0) return void process.stdout.write("nothing to remove\n");
  for (const r of removed) process.stdout.write(`${o.dryRun ? "would remove" : "removed"} ${r.name} ${shortKey(r.key)} (${formatBytes(r.sizeBytes)}): ${r.reason}\n`);
  process.stdout.write(`${o.dryRun ? "would free" : "freed"} ${formatBytes(removed.reduce((n, r) => n + r.sizeBytes, 0))}\n`);
}

function isBadInput(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === "invalid_input";
}

function errorJson(err: unknown) {
  const e = err as { code?: string; message?: string; hint?: string };
  return { code: e.code ?? "internal", message: e.message ?? String(err), hint: e.hint ?? null };
}

function printHint(err: unknown): void {
  const hint = (err as { hint?: string } | null)?.hint;
  if (hint) process.stderr.write(`hint: ${hint}\n`);
}

function reportBuildError(err: EnvironmentBuildError, json: boolean): number {
  if (json) process.stderr.write(`${JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint } })}\n`);
  else process.stderr.write(`error: ${err.message}\nhint: ${err.hint}\n`);
  return EXIT_CODES.failed;
}
