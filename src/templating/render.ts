/**
 * Rendering of templated task fields, with errors that name the DAG, task, field, template and the fix.
 */
import { compileTemplate, type TemplateMode } from "./compile.js";
import { TEMPLATE_NAMES, type TemplateContext } from "./context.js";
import { TemplateError, type TemplateErrorReason, type TemplateLocation } from "./errors.js";
import { GuardFailure } from "./guard.js";
import { errorPosition } from "./nunjucks-internals.js";
import { ShellQuoteRefusal } from "./shell-quote.js";

/**
 * Renders one template string. Strings without `{` are returned as they are. In "shell" mode every `{{ … }}` value
 * is quoted for where it lands in the command (see shell-quote.ts); `| trusted` opts a fragment out.
 */
export function renderString(template: string, ctx: TemplateContext, where: TemplateLocation, mode: TemplateMode = "text"): string {
  if (!template.includes("{")) return template;
  let compiled;
  try {
    compiled = compileTemplate(template, mode);
  } catch (err) {
    throw syntaxError(err, template, where);
  }
  try {
    return compiled.render(ctx as unknown as object);
  } catch (err) {
    throw renderError(err, template, where);
  }
}

/**
 * A copy of `args` with each templated field rendered: strings are rendered, arrays and objects recursively (their
 * string leaves; keys stay as they are), other values are left alone. `shellFields` are bash commands: their
 * pasted values are shell-quoted.
 */
export function renderFields(
  args: Record<string, unknown>, templateFields: string[], ctx: TemplateContext, where: { dagId: string; taskId: string },
  shellFields: readonly string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...args };
  for (const field of templateFields) {
    if (!Object.prototype.hasOwnProperty.call(args, field)) continue;
    out[field] = renderValue(args[field], field, ctx, where, shellFields.includes(field) ? "shell" : "text");
  }
  return out;
}

/** The template strings inside the templated fields of `args`, for `extractReferences`. */
export function templateStrings(args: Record<string, unknown>, templateFields: string[]): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (isRecord(v)) Object.values(v).forEach(visit);
  };
  for (const field of templateFields) if (Object.prototype.hasOwnProperty.call(args, field)) visit(args[field]);
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function renderValue(value: unknown, path: string, ctx: TemplateContext, where: { dagId: string; taskId: string }, mode: TemplateMode): unknown {
  if (typeof value === "string") return renderString(value, ctx, { ...where, field: path }, mode);
  if (Array.isArray(value)) return value.map((v, i) => renderValue(v, `${path}[${i}]`, ctx, where, mode));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderValue(v, `${path}.${k}`, ctx, where, mode);
    return out;
  }
  return value;
}

function place(where: TemplateLocation): string {
  return `DAG "${where.dagId}", task "${where.taskId}"${where.field ? `, field "${where.field}"` : ""}`;
}

function quote(template: string): string {
  return JSON.stringify(template.length > 300 ? `${template.slice(0, 300)}…` : template);
}

function at(line: number | undefined, column: number | undefined): string {
  return line ? ` (line ${line}${column ? `, column ${column}` : ""})` : "";
}

/** nunjucks prefixes its messages with "(unknown path) [Line 1, Column 2]" and error names; keep the substance. */
function nunjucksMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !/^\(unknown path\)/.test(l) && !/^\(template\)/.test(l));
  return (lines.pop() ?? text).replace(/^(Template render error: |Error: )+/, "");
}

function syntaxError(err: unknown, template: string, where: TemplateLocation): TemplateError {
  return new TemplateError(
    `${place(where)}: template ${quote(template)} has a syntax error${at(errorPosition(err).line, errorPosition(err).column)}: ${nunjucksMessage(err)}. `
    + `Templates use Jinja syntax: {{ expression }} and {% statement %}; to output literal braces write {{ "{{" }}.`,
    "syntax", where, template, undefined, { cause: err },
  );
}

function renderError(err: unknown, template: string, where: TemplateLocation): TemplateError {
  let cause: unknown = err;
  // nunjucks wraps what a lookup or a called function threw; find the original.
  while (cause instanceof Error && !(cause instanceof GuardFailure) && cause.name === "Template render error" && cause.cause) cause = cause.cause;
  if (cause instanceof GuardFailure) {
    const reason: TemplateErrorReason = cause.reason;
    const pos = at(cause.line, cause.column);
    const text = reason === "undefined"
      ? `${place(where)}: ${JSON.stringify(cause.expression)} is undefined in template ${quote(template)}${pos}. ${undefinedHint(cause.expression)}`
      : `${place(where)}: template ${quote(template)} reads ${JSON.stringify(cause.expression)}${pos}, which is not allowed: ${cause.message}. `
        + `Templates may read data only (params, conf, var, conn, ti.xcom_pull, macros), not the runtime behind it.`;
    return new TemplateError(text, reason, where, template, cause.expression, { cause: err });
  }
  if (cause instanceof ShellQuoteRefusal) {
    return new TemplateError(
      `${place(where)}: a value in template ${quote(template)} cannot be pasted into the shell command safely: ${cause.message}. `
      + `Pass it through an environment variable (env: { X: "{{ ... }}" }, then "$X"), or mark a fragment you trust with {{ value | trusted }}.`,
      "shell", where, template, undefined, { cause: err },
    );
  }
  const { line, column } = errorPosition(err);
  if (/attempted to output null or undefined value/.test(nunjucksMessage(err))) {
    // nunjucks reports this one 1-based already.
    return new TemplateError(
      `${place(where)}: an expression in template ${quote(template)} is null${at(line, column)}. `
      + `Give it a value, or a fallback with {{ value | default("", true) }}.`,
      "null_output", where, template, undefined, { cause: err },
    );
  }
  const original = cause instanceof Error && cause !== err ? `${cause.name}: ${cause.message}` : nunjucksMessage(err);
  const hint = cause instanceof Error && cause.name === "NotGrantedError"
    ? " Grant it to the task (grants: { variables: [...], connections: [...] }), or write its name literally in the template"
      + " (var.value.name, conn.name.host) so it is granted with the template."
    : "";
  // Errors raised by called functions carry nunjucks' 0-based position of the call.
  return new TemplateError(
    `${place(where)}: rendering template ${quote(template)} failed${at(line === undefined ? undefined : line + 1, column === undefined ? undefined : column + 1)}: ${original}${hint}`,
    "call", where, template, undefined, { cause: cause instanceof Error ? cause : err },
  );
}

function undefinedHint(expression: string): string {
  const parts = expression.split(/[.[]/);
  const root = parts[0] ?? expression;
  const fallback = `or give a fallback with {{ ${expression} | default("...") }}`;
  if (root === "params") {
    const key = parts[1]?.replace(/[\]"]/g, "") ?? "name";
    return `Define it in the DAG's params (params: { ${key}: ... }) or pass it in the run conf (--conf '{"${key}": ...}'), ${fallback}.`;
  }
  if (root === "conf" || expression.startsWith("dag_run.conf")) return `Pass it in the run conf (--conf '{"${parts.at(-1)?.replace(/[\]"]/g, "") ?? "name"}": ...}'), ${fallback}.`;
  if (root === "conn") return `The connection has no such field (fields: conn_type, host, login, password, port, schema, extra, extra_dejson); set it on the connection, ${fallback}.`;
  if (root === "macros") return "The macros are ds_add, ds_format, random, uuid4, json.dumps and json.loads.";
  if (root === "item") return "item is the element of a mapped task instance: map the task with .expand(upstream), whose XCom must be a list.";
  if (root === "ti") return "ti has xcom_pull, task_id, dag_id, run_id and try_number.";
  if (parts.length === 1 && !(TEMPLATE_NAMES as readonly string[]).includes(root)) {
    return `"${root}" is not a template variable; the names are ${TEMPLATE_NAMES.join(", ")}. Define it with {% set ${root} = ... %}, ${fallback}.`;
  }
  return `Check the name, ${fallback}.`;
}
