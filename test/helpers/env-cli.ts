/**
 * Runs `airlock env ...` as a child process, the command mounted the way the main CLI mounts it; usage errors
 * exit 2 as there. Used by the environments CLI suite.
 */
import { Command, CommanderError } from "commander";
import { envCommand } from "../../src/cli/env.js";

const program = new Command("airlock").exitOverride();
program.addCommand(envCommand({}));
const override = (c: Command): void => {
  c.exitOverride();
  c.commands.forEach(override);
};
override(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = err.exitCode === 0 ? 0 : 2;
}
