/**
 * Compiles templates with nunjucks' compiler, except that every name and member lookup goes through the guard
 * (guard.ts). Compiled templates are cached by source.
 */
import type { Template } from "nunjucks";
import { GUARD_PROPERTY, guard } from "./guard.js";
import { shellOutput, TrustedFragment } from "./shell-quote.js";
import { BaseCompiler, createEnvironment, parseTemplate, templateFromCode, type CompileFrame, type NjNode } from "./nunjucks-internals.js";

/** Filters whose first argument may be undefined (Jinja's StrictUndefined allows `x | default(...)`). */
const LENIENT_FILTERS = new Set(["default", "d"]);
/** Tests that exist to ask whether something is undefined. */
const LENIENT_TESTS = new Set(["defined", "undefined"]);

/** Property on the nunjucks Environment under which compiled shell-mode code finds `shellOutput`. */
const SHELL_PROPERTY = "airlockShell";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The source form of an expression, for error messages: `params.x`, `ti.xcom_pull(…)`, `conn["my-db"].host`. */
export function describeExpression(node: NjNode): string {
  switch (node.typename) {
    case "Symbol":
      return String(node.value);
    case "Literal":
      return JSON.stringify(node.value);
    case "LookupVal": {
      const target = describeExpression(node.target as NjNode);
      const key = node.val as NjNode;
      if (key.typename === "Literal" && typeof key.value === "string") {
        return IDENTIFIER.test(key.value) ? `${target}.${key.value}` : `${target}[${JSON.stringify(key.value)}]`;
      }
      if (key.typename === "Literal" && typeof key.value === "number") return `${target}[${key.value}]`;
      return `${target}[${describeExpression(key)}]`;
    }
    case "FunCall":
      return `${describeExpression(node.name as NjNode)}(…)`;
    default:
      return "(expression)";
  }
}

/** 1-based "line, column" where an expression starts (nunjucks counts from 0 and puts `a.b` at the dot). */
function position(node: NjNode): string {
  let start = node;
  while (start.typename === "LookupVal") start = start.target as NjNode;
  return `${Number(start.lineno) + 1}, ${Number(start.colno) + 1}`;
}

class GuardedCompiler extends BaseCompiler {
  private lenient = 0;

  constructor(name: string, throwOnUndefined: boolean, private readonly shell: boolean) {
    super(name, throwOnUndefined);
  }

  /** In shell mode each expression's value goes through `shellOutput`, which sees the command rendered so far. */
  override compileOutput(node: NjNode, frame: CompileFrame): void {
    if (!this.shell) {
      super.compileOutput(node, frame);
      return;
    }
    for (const child of (node.children as NjNode[])) {
      if (child.typename === "TemplateData") {
        if (child.value) this._emit(`${this.buffer} += ${JSON.stringify(String(child.value))};\n`);
        continue;
      }
      this._emit(`${this.buffer} += env.${SHELL_PROPERTY}(${this.buffer}, runtime.ensureDefined(`);
      this.compile(child, frame);
      this._emit(`, ${Number(node.lineno)}, ${Number(node.colno)}));\n`);
    }
  }

  compileSymbol(node: NjNode, frame: CompileFrame): void {
    const name = String(node.value);
    // Names bound by the template itself ({% set %}, loop variables, macro arguments) are plain JS locals.
    const local = frame.lookup(name);
    if (local) {
      this._emit(local);
      return;
    }
    this._emit(`env.${GUARD_PROPERTY}.name(context, frame, ${JSON.stringify(name)}, ${this.lenient > 0}, ${position(node)})`);
  }

  compileLookupVal(node: NjNode, frame: CompileFrame): void {
    this._emit(`env.${GUARD_PROPERTY}.member((`);
    this._compileExpression(node.target as NjNode, frame);
    this._emit("),");
    this._compileExpression(node.val as NjNode, frame);
    this._emit(`, ${JSON.stringify(describeExpression(node))}, ${this.lenient > 0}, ${position(node)})`);
  }

  compileFilter(node: NjNode, frame: CompileFrame): void {
    const name = String((node.name as NjNode).value);
    this._emit(`env.getFilter(${JSON.stringify(name)}).call(context, `);
    const args = (node.args as NjNode).children as NjNode[];
    args.forEach((arg, i) => {
      if (i > 0) this._emit(",");
      if (i === 0 && LENIENT_FILTERS.has(name)) this.leniently(() => this.compile(arg, frame));
      else this.compile(arg, frame);
    });
    this._emit(")");
  }

  override compileIs(node: NjNode, frame: CompileFrame): void {
    const right = node.right as NjNode;
    const test = String(right.name ? (right.name as NjNode).value : right.value);
    if (LENIENT_TESTS.has(test)) this.leniently(() => super.compileIs(node, frame));
    else super.compileIs(node, frame);
  }

  private leniently(f: () => void): void {
    this.lenient++;
    try {
      f();
    } finally {
      this.lenient--;
    }
  }
}

// dev: keep the error a called function threw as `cause`, so it can be reported as itself.
const env = createEnvironment({ autoescape: false, throwOnUndefined: true, dev: true });
(env as unknown as Record<string, unknown>)[GUARD_PROPERTY] = guard;
(env as unknown as Record<string, unknown>)[SHELL_PROPERTY] = shellOutput;
env.addFilter("trusted", (value: unknown) => new TrustedFragment(String(value ?? "")));

const cache = new Map<string, Template>();
const CACHE_LIMIT = 500;

/** How a template's output is used: plain text, or a bash command whose pasted values are shell-quoted. */
export type TemplateMode = "text" | "shell";

/** A compiled template for `source`; throws nunjucks' error for a syntax error. */
export function compileTemplate(source: string, mode: TemplateMode = "text"): Template {
  const key = `${mode}:${source}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const compiler = new GuardedCompiler("template", true, mode === "shell");
  compiler.compile(parseTemplate(source));
  // Same step nunjucks itself takes: its compiler emits JS source defining the template's functions.
  const props: unknown = new Function(compiler.getCode())();
  const template = templateFromCode(props, env);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, template);
  return template;
}
