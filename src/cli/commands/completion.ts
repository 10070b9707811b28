/** `airlock completion [bash|zsh]`: a shell completion script generated from the command tree. */
import { Command } from "commander";
import { UsageError } from "../output.js";
import { guarded } from "../context.js";

/** Words that may follow each command path ("" is the top level), from the program's own definition. */
export function completionWords(program: Command): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (cmd: Command, prefix: string) => {
    const words = [...cmd.commands.map((c) => c.name()), ...cmd.options.map((o) => o.long).filter((l): l is string => Boolean(l))];
    out.set(prefix, words);
    for (const c of cmd.commands) walk(c, prefix ? `${prefix} ${c.name()}` : c.name());
  };
  walk(program, "");
  return out;
}

function bashScript(words: Map<string, string[]>): string {
  const cases = [...words].map(([path, ws]) => `    "${path}") opts="${ws.join(" ")}" ;;`).join("\n");
  return `# airlock completion for bash: eval "$(airlock completion bash)"
_airlock() {
  local cur path i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) continue ;; esac
    if [ -z "$path" ]; then path="\${COMP_WORDS[i]}"; else path="$path \${COMP_WORDS[i]}"; fi
  done
  local opts=""
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _airlock airlock
`;
}

/** The `completion` command; `root` is the whole program, read when the command runs. */
export function completionCommand(root: () => Command): Command {
  return new Command("completion").argument("[shell]", "bash or zsh", "bash").description("print a shell completion script (eval \"$(airlock completion bash)\")")
    .action(async (shell: string) => {
      await guarded(false, async () => {
        if (shell !== "bash" && shell !== "zsh") throw new UsageError(`shell "${shell}" is not supported`, "Use bash or zsh");
        const script = bashScript(completionWords(root()));
        // zsh runs bash completion functions through bashcompinit.
        process.stdout.write(shell === "zsh" ? `autoload -U +X bashcompinit && bashcompinit\n${script}` : script);
      });
    });
}
