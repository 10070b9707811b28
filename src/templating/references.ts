/**
 * A static scan of templates (parsed, never evaluated) for the variables, connections and XComs they name, so the
 * orchestrator can grant a task exactly what its templates read.
 */
import { childNodes, parseTemplate, type NjNode } from "./nunjucks-internals.js";

/** Names templates refer to, each list sorted and without duplicates. */
export interface TemplateReferences {
  variables: string[];
  connections: string[];
  xcomTasks: string[];
}

/** Root name and literal keys of a member chain: `var.value["x"].y` → ["var", "value", "x", "y"]; stops at a computed key. */
function chain(node: NjNode): string[] | undefined {
  if (node.typename === "Symbol") return [String(node.value)];
  if (node.typename !== "LookupVal") return undefined;
  const head = chain(node.target as NjNode);
  const key = node.val as NjNode;
  if (!head || key.typename !== "Literal" || typeof key.value !== "string") return head;
  return [...head, key.value];
}

function literalStrings(node: NjNode | undefined): string[] {
  if (!node) return [];
  if (node.typename === "Literal" && typeof node.value === "string") return [node.value];
  if (node.typename === "Array") return childNodes(node).flatMap(literalStrings);
  return [];
}

/** The positional arguments of a call and its keyword arguments by name. */
function callArgs(call: NjNode): { positional: NjNode[]; keywords: Map<string, NjNode> } {
  const positional: NjNode[] = [];
  const keywords = new Map<string, NjNode>();
  for (const arg of childNodes(call.args as NjNode)) {
    if (arg.typename === "KeywordArgs") {
      for (const pair of childNodes(arg)) keywords.set(String((pair.key as NjNode).value), pair.value as NjNode);
    } else {
      positional.push(arg);
    }
  }
  return { positional, keywords };
}

/**
 * Finds `var.value.X`, `var.json.X`, `var.value.get("X")`, `conn.X` (also `conn["X"]`) and `ti.xcom_pull("X")` /
 * `ti.xcom_pull(task_ids="X")` / `ti.xcom_pull(task_ids=["X", "Y"])`. Names computed at render time cannot be seen;
 * reading them fails at render time as not granted. Templates that do not parse are skipped (rendering reports them).
 */
export function extractReferences(templates: string[]): TemplateReferences {
  const variables = new Set<string>();
  const connections = new Set<string>();
  const xcomTasks = new Set<string>();
  const visit = (node: NjNode): void => {
    const c = chain(node);
    if (c?.[0] === "var" && (c[1] === "value" || c[1] === "json") && c[2] !== undefined && c[2] !== "get") variables.add(c[2]);
    if (c?.[0] === "conn" && c[1] !== undefined && c[1] !== "get") connections.add(c[1]);
    if (node.typename === "FunCall") {
      const callee = chain(node.name as NjNode);
      const { positional, keywords } = callArgs(node);
      const first = literalStrings(keywords.get("task_ids") ?? positional[0]);
      if (callee?.join(".") === "ti.xcom_pull") first.forEach((t) => xcomTasks.add(t));
      if (callee?.join(".") === "var.value.get" || callee?.join(".") === "var.json.get") first.slice(0, 1).forEach((v) => variables.add(v));
      if (callee?.join(".") === "conn.get") first.slice(0, 1).forEach((v) => connections.add(v));
    }
    childNodes(node).forEach(visit);
  };
  for (const template of templates) {
    if (typeof template !== "string" || !template.includes("{")) continue;
    let ast: NjNode;
    try {
      ast = parseTemplate(template);
    } catch {
      continue;
    }
    visit(ast);
  }
  const sorted = (s: Set<string>): string[] => [...s].sort();
  return { variables: sorted(variables), connections: sorted(connections), xcomTasks: sorted(xcomTasks) };
}
