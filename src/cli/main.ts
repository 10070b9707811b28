/** The `airlock` command line. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { AIRLOCK_ROOT } from "../core/install.js";
import { connectionsCommand, variablesCommand } from "./commands/secrets.js";
import { dagsCommand } from "./commands/dags.js";
import { initCommand } from "./commands/init.js";
import { runsCommand, tasksCommand } from "./commands/runs-tasks.js";
import { serviceCommands } from "./commands/services.js";
import { EXIT_CODES } from "./output.js";

const version = (JSON.parse(readFileSync(path.join(AIRLOCK_ROOT, "package.json"), "utf8")) as { version: string }).version;

const program = new Command("airlock")
  .description("Workflow orchestrator for TypeScript teams: DAGs whose tasks run in sealed environments")
  .version(version)
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

program.addCommand(initCommand());
for (const c of serviceCommands()) program.addCommand(c);
program.addCommand(dagsCommand());
program.addCommand(runsCommand());
program.addCommand(tasksCommand());
program.addCommand(connectionsCommand());
program.addCommand(variablesCommand());
try {
  const { envCommand } = await import("./env.js");
  program.addCommand(envCommand({}));
} catch (err) {
  if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
}
const override = (c: Command): void => {
  c.exitOverride();
  c.commands.forEach(override);
};
override(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; everything else commander rejects is bad usage.
    process.exitCode = err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  } else throw err;
}
