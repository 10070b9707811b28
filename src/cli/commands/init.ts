/** `airlock init [dir]`: a working project scaffold (config, an example DAG, an example environment). */
import { Command } from "commander";
import { cpSync, existsSync, readdirSync, renameSync } from "node:fs";
import path from "node:path";
import { AIRLOCK_ROOT } from "../../core/install.js";
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
        process.stdout.write(`created an Airlock project in ${target}:\n${readdirSync(target).map((f) => `  ${f}`).join("\n")}\n\nnext:\n  cd ${path.relative(process.cwd(), target) || "."}\n  airlock dags test example\n  airlock standalone\n`);
      });
    });
}
