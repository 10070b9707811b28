/**
 * Typed access to nunjucks, including the parts its public types leave out (parser, compiler, AST nodes). Keep
 * every cast to nunjucks internals in this file.
 *
 * Why the "browser" build: it is the same compiler and runtime bundled with no `require` of Node built-ins
 * (events, fs, path). The task runner is bundled by esbuild as ESM, where such requires fail at run time, and the
 * runner must not touch the file system anyway; this build has no file loaders to reach it with.
 */
import type { ConfigureOptions, Environment, Template } from "nunjucks";
import nunjucks from "nunjucks/browser/nunjucks.js";

/** A nunjucks AST node; fields vary by `typename`. */
export interface NjNode {
  typename: string;
  lineno: number;
  colno: number;
  fields: string[];
  [field: string]: unknown;
}

/** The compile-time scope nunjucks uses to map template names to JS locals. */
export interface CompileFrame {
  lookup(name: string): string | undefined;
}

/** The methods of nunjucks' Compiler that the guarded compiler calls or overrides. */
export interface NjCompiler {
  /** Name of the JS variable the compiled code appends output to. */
  buffer: string;
  compile(node: NjNode, frame?: CompileFrame): void;
  compileOutput(node: NjNode, frame: CompileFrame): void;
  compileIs(node: NjNode, frame: CompileFrame): void;
  getCode(): string;
  _emit(code: string): void;
  _compileExpression(node: NjNode, frame: CompileFrame): void;
}

interface Internals {
  parser: { parse(src: string, extensions?: unknown[], opts?: object): NjNode };
  compiler: { Compiler: new (templateName: string, throwOnUndefined: boolean) => NjCompiler };
  nodes: { Node: abstract new (...args: never[]) => object };
}

const internals = nunjucks as unknown as Internals;

/** A nunjucks Environment without loaders: include/import/extends find nothing, and nothing reads files. */
export function createEnvironment(options: ConfigureOptions): Environment {
  return new nunjucks.Environment([], options);
}

/** A template from code that a compiler produced (nunjucks' "precompiled" form), rendered in `env`. */
export function templateFromCode(props: unknown, env: Environment): Template {
  const TemplateClass = nunjucks.Template as unknown as new (src: { type: "code"; obj: unknown }, e: Environment, path: string, eager: boolean) => Template;
  return new TemplateClass({ type: "code", obj: props }, env, "template", true);
}

/** nunjucks' Compiler class, to subclass. */
export const BaseCompiler = internals.compiler.Compiler;

/**
 * Parses template source into an AST. nunjucks' own pipeline also runs a transformer, which only matters for async
 * filters and `super()` in inherited blocks; neither exists here (no async filters, no loaders to extend from).
 */
export function parseTemplate(src: string): NjNode {
  return internals.parser.parse(src, [], {});
}

/** True for nunjucks AST nodes. */
export function isNode(value: unknown): value is NjNode {
  return value instanceof internals.nodes.Node;
}

/** The children of a node, in field order (NodeList children included). */
export function childNodes(node: NjNode): NjNode[] {
  const out: NjNode[] = [];
  for (const field of node.fields) {
    const value = node[field];
    if (Array.isArray(value)) {
      for (const v of value) if (isNode(v)) out.push(v);
    } else if (isNode(value)) {
      out.push(value);
    }
  }
  return out;
}

/** Line and column nunjucks attached to an error, when it did. */
export function errorPosition(err: unknown): { line?: number; column?: number } {
  if (typeof err !== "object" || err === null) return {};
  const e = err as { lineno?: unknown; colno?: unknown };
  return {
    line: typeof e.lineno === "number" ? e.lineno : undefined,
    column: typeof e.colno === "number" ? e.colno : undefined,
  };
}
