/** Running a commander program with Airlock's exit codes: help/version 0, anything commander rejects 2. */
import { type Command, CommanderError } from "commander";
import { EXIT_CODES } from "./output.js";

/** Parses argv with `program` (and every subcommand) mapping commander's own exits to Airlock's codes. */
export async function runProgram(program: Command, argv: string[] = process.argv): Promise<void> {
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    process.exitCode = err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
}
