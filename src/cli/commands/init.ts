/** `airlock init [dir]`: a working project scaffold (config, an example DAG, an example environment). */
import { Command } from "commander";
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AIRLOCK_ROOT } from "../../core/install.js";
import { loadConfig } from "../../config/config.js";
import { writeEditorTypes } from "../../environments/editor-types.js";
import { guarded } from "../context.js";
import { UsageError } from "../output.js";

/** The `init` command. */
export function initCommand(): Command {
  return new Command("init").argument("[dir]", "project folder", ".").description("create a project: airlock.config.json, dags/example.ts, environments/example/")
    .option("--force", "write into a folder that already has an Airlock config")
    .action(async (dir: string, o: { force?: boolean }) => {
      await guarded(false, async () => {
        const target = path.resolve(dir);
        if (existsSync(path.join(target, "airlock.config.json")) && !o.force) {
          throw new UsageError(`${target} already has an airlock.config.json`, "Use another folder, or --force to overwrite the scaffold files");
        }
        const template = path.join(AIRLOCK_ROOT, "templates", "project");
        cpSync(template, target, { recursive: true, force: Boolean(o.force), errorOnExist: false });
        if (existsSync(path.join(target, "gitignore"))) {
          if (existsSync(path.join(target, ".gitignore"))) renameSync(path.join(target, "gitignore"), path.join(target, ".gitignore.airlock"));
          else renameSync(path.join(target, "gitignore"), path.join(target, ".gitignore"));
        }
        linkEditorSupport(target);
        // Editors see the example environment's packages (as `any` until it is built; env build links real types).
        await writeEditorTypes(await loadConfig({ cwd: target })).catch(() => undefined);
        process.stdout.write(`created an Airlock project in ${target}:\n${readdirSync(target).map((f) => `  ${f}`).join("\n")}\n\nnext:\n  cd ${path.relative(process.cwd(), target) || "."}\n  npx airlock dags test example\n  npx airlock standalone          (new DAGs start paused: npx airlock dags unpause example)\n`);
      });
    });
}

/**
 * Makes the project a package whose editors and `tsc` resolve "airlock" (types included) and whose `npx airlock`
 * runs this installation: package.json with a file: dependency, node_modules links, and a tsconfig for DAG files.
 */
function linkEditorSupport(target: string): void {
  const name = path.basename(target).toLowerCase().replace(/[^a-z0-9._-]/g, "-").replace(/^[._]+/, "") || "airlock-project";
  if (!existsSync(path.join(target, "package.json"))) {
    writeFileSync(path.join(target, "package.json"), `${JSON.stringify({
      name, private: true, type: "module",
      scripts: { typecheck: "tsc --noEmit" },
      devDependencies: { airlock: `file:${AIRLOCK_ROOT}` },
    }, null, 2)}\n`);
  }
  if (!existsSync(path.join(target, "tsconfig.json"))) {
    writeFileSync(path.join(target, "tsconfig.json"), `${JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true,
        types: ["node"], allowImportingTsExtensions: true,
      },
      include: ["dags/**/*.ts"],
    }, null, 2)}\n`);
  }
  // What `npm install` would make of the file: dependency, so editors and npx work before anyone runs it.
  const modules = path.join(target, "node_modules");
  mkdirSync(path.join(modules, ".bin"), { recursive: true });
  if (!existsSync(path.join(modules, "airlock"))) symlinkSync(AIRLOCK_ROOT, path.join(modules, "airlock"), "dir");
  if (!existsSync(path.join(modules, ".bin", "airlock"))) symlinkSync(path.join("..", "airlock", "bin", "airlock.js"), path.join(modules, ".bin", "airlock"));
  const typesNode = path.join(AIRLOCK_ROOT, "node_modules", "@types", "node");
  if (existsSync(typesNode) && !existsSync(path.join(modules, "@types", "node"))) {
    mkdirSync(path.join(modules, "@types"), { recursive: true });
    symlinkSync(typesNode, path.join(modules, "@types", "node"), "dir");
  }
}
