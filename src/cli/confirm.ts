/** Asking a person before a destructive action; never waits on a script. */
import { createInterface } from "node:readline/promises";

/** Asks `question` on a terminal and resolves true for y/yes; false without a terminal (scripts must pass --yes). */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
