/**
 * Keeps rendered secrets out of a user container's spec and argv. A container or pod spec is readable by anyone who
 * may inspect it, and every argv is readable by anyone on the host: a command whose rendered words hold a secret is
 * rerouted when it is a shell script (`sh -c "…"`), whose text then travels in a private mounted file that the
 * shell reads, and refused otherwise, since a program that takes a secret as an argument shows it to `ps`.
 */

/** Shells whose `-c <script>` form can run the same script from a file instead. */
const SHELLS = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"]);

/** A secret in a field of a container spec that cannot be kept out of it. */
export class SecretInSpecError extends Error {
  override readonly name = "SecretInSpecError";
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** How to run a command whose words hold a secret: `[shell, <script file>, ...params]` with `script` in the file. */
export interface RerouteCommand {
  shell: string;
  script: string;
  params: string[];
}

const holds = (text: string, secrets: string[]) => secrets.some((s) => s.length >= 3 && text.includes(s));

/**
 * Checks a container's final argv (`words`, entrypoint and command together) and its plain environment for
 * rendered secrets. Returns null when none is there, the reroute when the argv is a shell script holding one, and
 * throws a SecretInSpecError naming the field and the fix otherwise.
 */
export function planSecretArgv(o: { words: string[]; env: Record<string, unknown>; secrets: string[]; fields: { command: string; env: string; secretEnv: string } }): RerouteCommand | null {
  const secrets = o.secrets.filter((s) => typeof s === "string" && s.length >= 3);
  if (secrets.length === 0) return null;
  for (const [name, value] of Object.entries(o.env)) {
    if (holds(String(value), secrets)) {
      throw new SecretInSpecError(o.fields.env, `${o.fields.env}.${name} holds a secret (a variable or connection template), and ${o.fields.env} is written into the container's spec; move it to ${o.fields.secretEnv}`);
    }
  }
  if (!o.words.some((w) => holds(w, secrets))) return null;
  const [program = "", flag, script, , ...params] = o.words;
  const shell = program.split("/").pop() ?? "";
  const scriptForm = SHELLS.has(shell) && flag === "-c" && script !== undefined;
  if (scriptForm && !holds(program, secrets) && !o.words.slice(3).some((w) => holds(w, secrets))) {
    return { shell: program, script, params };
  }
  throw new SecretInSpecError(o.fields.command, `${o.fields.command} passes a secret (a variable or connection template) as an argument of "${holds(program, secrets) ? "***" : program}", where the container's spec and the host's process list show it; ` +
    `pass it through ${o.fields.secretEnv} and let the program read the environment variable, or run a shell script (["sh", "-c", "…"]) that holds the template, which Airlock then delivers through a private file`);
}
