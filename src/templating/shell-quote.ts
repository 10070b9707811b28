/**
 * Autoescape for shell commands: a value a template pastes into a bash command is quoted for the exact place it
 * lands (bare word, '…', "…", $(…), `…`, $'…', a comment or a here-document), so run conf and params can never
 * become shell syntax. The place is found by scanning the command rendered so far, which is why `echo '{{ ds }}'`
 * and `echo "hello {{ params.name }}"` keep working unchanged. `{{ x | trusted }}` opts a fragment out.
 */

/** A fragment the DAG author vouches for (the `trusted` filter): pasted into a shell command as it is. */
export class TrustedFragment {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

/** A value cannot be pasted safely where the template puts it (a here-document line equal to its delimiter). */
export class ShellQuoteRefusal extends Error {
  override name = "ShellQuoteRefusal";
}

type Frame =
  | { kind: "word" | "subshell" | "brace" | "backtick" }
  | { kind: "single" | "double" | "ansi" | "comment" }
  | { kind: "heredoc"; delimiter: string; quoted: boolean; stripTabs: boolean };

interface PendingHeredoc {
  delimiter: string;
  quoted: boolean;
  stripTabs: boolean;
}

/** Characters that need no quoting in a bare word (as Python's shlex.quote). */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;
const WORD_BREAK = new Set([" ", "\t", "\n", ";", "&", "|", "(", ")", "<", ">"]);

/** The quoting context at the end of `text`, a prefix of a bash script. */
export function shellContext(text: string): Frame {
  const stack: Frame[] = [{ kind: "word" }];
  const pending: PendingHeredoc[] = [];
  const top = (): Frame => stack[stack.length - 1] ?? { kind: "word" };
  let i = 0;
  while (i < text.length) {
    const f = top();
    const c = text[i] ?? "";
    const next = text[i + 1] ?? "";
    if (f.kind === "heredoc") {
      const end = text.indexOf("\n", i);
      if (end < 0) break;
      const line = text.slice(i, end);
      if ((f.stripTabs ? line.replace(/^\t+/, "") : line) === f.delimiter) stack.pop();
      i = end + 1;
      continue;
    }
    if (f.kind === "comment") {
      if (c === "\n") {
        stack.pop();
        continue;
      }
      i++;
      continue;
    }
    if (f.kind === "single") {
      if (c === "'") stack.pop();
      i++;
      continue;
    }
    if (f.kind === "ansi") {
      if (c === "\\") i += 2;
      else {
        if (c === "'") stack.pop();
        i++;
      }
      continue;
    }
    if (c === "\\") {
      i += 2;
      continue;
    }
    if (c === "$" && next === "(") {
      stack.push({ kind: "subshell" });
      i += 2;
      continue;
    }
    if (c === "$" && next === "{") {
      stack.push({ kind: "brace" });
      i += 2;
      continue;
    }
    if (c === "`") {
      if (f.kind === "backtick") stack.pop();
      else stack.push({ kind: "backtick" });
      i++;
      continue;
    }
    if (f.kind === "double") {
      if (c === '"') stack.pop();
      i++;
      continue;
    }
    // word, subshell, brace, backtick: shell syntax proper.
    if (c === ")" && f.kind === "subshell") stack.pop();
    else if (c === "}" && f.kind === "brace") stack.pop();
    else if (c === "'") stack.push({ kind: "single" });
    else if (c === '"') stack.push({ kind: "double" });
    else if (c === "$" && next === "'") {
      stack.push({ kind: "ansi" });
      i += 2;
      continue;
    } else if (c === "#" && (i === 0 || WORD_BREAK.has(text[i - 1] ?? ""))) stack.push({ kind: "comment" });
    else if (c === "<" && next === "<" && text[i + 2] !== "<") {
      const m = /^<<(-?)[ \t]*(?:'([^']*)'|"([^"]*)"|\\?([A-Za-z0-9_.-]+))/.exec(text.slice(i));
      if (m) {
        const quoted = m[2] !== undefined || m[3] !== undefined || m[0].includes("\\");
        pending.push({ delimiter: m[2] ?? m[3] ?? m[4] ?? "", quoted, stripTabs: m[1] === "-" });
        i += m[0].length;
        continue;
      }
    } else if (c === "\n" && pending.length > 0) {
      // Here-document bodies start on the next line, in the order their operators appeared.
      for (const h of pending.reverse()) stack.push({ kind: "heredoc", ...h });
      pending.length = 0;
    }
    i++;
  }
  return top();
}

function singleQuoted(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * `value` quoted for the place where `before` (the command rendered so far) ends. Throws ShellQuoteRefusal when no
 * quoting is safe there.
 */
export function quoteForShell(before: string, value: string): string {
  const f = shellContext(before);
  switch (f.kind) {
    case "word":
    case "subshell":
    case "brace":
      return value !== "" && PLAIN.test(value) ? value : singleQuoted(value);
    case "backtick":
      // Inside `…` a backslash before \ ` $ is removed before the inner command is parsed.
      return value !== "" && PLAIN.test(value) ? value : singleQuoted(value).replace(/[\\`$]/g, "\\$&");
    case "single":
      return value.replace(/'/g, `'\\''`);
    case "double":
      return value.replace(/[\\"$`]/g, "\\$&");
    case "ansi":
      return value.replace(/[\\']/g, "\\$&");
    case "comment":
      // A line break would end the comment and run the rest.
      return value.replace(/[\r\n]/g, " ");
    case "heredoc": {
      const lines = value.split("\n").map((l) => (f.stripTabs ? l.replace(/^\t+/, "") : l));
      if (lines.includes(f.delimiter)) {
        throw new ShellQuoteRefusal(`the value has a line "${f.delimiter}", which would end the here-document it is pasted into`);
      }
      return f.quoted ? value : value.replace(/[\\$`]/g, "\\$&");
    }
  }
}

/** What a `{{ … }}` expression outputs in a shell command: a trusted fragment as is, anything else quoted. */
export function shellOutput(before: string, value: unknown): string {
  if (value instanceof TrustedFragment) return value.text;
  return quoteForShell(before, String(value));
}
