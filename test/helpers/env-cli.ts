/**
 * Runs `airlock env ...` as a child process, the command mounted the way the main CLI mounts it (same exit codes).
 * Used by the environments CLI suite.
 */
import { Command } from "commander";
import { envCommand } from "../../src/cli/env.js";
import { runProgram } from "../../src/cli/program.js";

await runProgram(new Command("airlock").addCommand(envCommand({})));
