/** The `airlock` command line. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { AIRLOCK_ROOT } from "../core/install.js";
import { connectionsCommand, variablesCommand } from "./commands/secrets.js";
import { dagsCommand } from "./commands/dags.js";
import { routesCommand, workersCommand } from "./commands/fleet.js";
import { initCommand } from "./commands/init.js";
import { runsCommand, tasksCommand } from "./commands/runs-tasks.js";
import { serviceCommands } from "./commands/services.js";
import { envCommand } from "./env.js";
import { runProgram } from "./program.js";

const version = (JSON.parse(readFileSync(path.join(AIRLOCK_ROOT, "package.json"), "utf8")) as { version: string }).version;

const program = new Command("airlock")
  .description("Workflow orchestrator for TypeScript teams: DAGs whose tasks run in sealed environments")
  .version(version)
  .showHelpAfterError("(run with --help for usage)");

program.addCommand(initCommand());
for (const c of serviceCommands()) program.addCommand(c);
program.addCommand(dagsCommand());
program.addCommand(runsCommand());
program.addCommand(tasksCommand());
program.addCommand(workersCommand());
program.addCommand(routesCommand());
program.addCommand(connectionsCommand());
program.addCommand(variablesCommand());
program.addCommand(envCommand({}));
await runProgram(program);
