/** The `airlock` command line. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { AIRLOCK_ROOT } from "../core/install.js";
import { connectionsCommand, variablesCommand } from "./commands/secrets.js";
import { completionCommand } from "./commands/completion.js";
import { auditCommand } from "./commands/audit.js";
import { dagsCommand } from "./commands/dags.js";
import { routesCommand, workersCommand } from "./commands/fleet.js";
import { initCommand } from "./commands/init.js";
import { datasetsCommand, pipelinesCommand } from "./commands/pipelines.js";
import { poolsCommand } from "./commands/pools.js";
import { runsCommand, tasksCommand } from "./commands/runs-tasks.js";
import { serviceCommands } from "./commands/services.js";
import { envCommand } from "./env.js";
import { runProgram } from "./program.js";

const version = (JSON.parse(readFileSync(path.join(AIRLOCK_ROOT, "package.json"), "utf8")) as { version: string }).version;

// --no-color anywhere on the line means NO_COLOR for this process (commander would reject it on subcommands).
const noColorAt = process.argv.indexOf("--no-color");
if (noColorAt > 1) {
  process.argv.splice(noColorAt, 1);
  process.env.NO_COLOR = "1";
}

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
program.addCommand(pipelinesCommand());
program.addCommand(datasetsCommand());
program.addCommand(poolsCommand());
program.addCommand(auditCommand());
program.addCommand(envCommand({}));
program.addCommand(completionCommand(() => program));
await runProgram(program);
