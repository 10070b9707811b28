/**
 * Task groups (Airflow's TaskGroup): `group({ id, defaultArgs }, build)` prefixes the ids of the tasks made in
 * `build` with the group's id, gives them the group's defaults, and connects as one node in `.then()` / `chain()`.
 */
import { brandGroup, currentDag, ID_PATTERN, type Connectable, type Dag, type GroupScope, type Task } from "./dag.js";
import { DagDefinitionError } from "./errors.js";
import { checkTaskOptions } from "./operators.js";
import type { DefaultArgs } from "./types.js";

/** Options of `group()`. */
export interface GroupOptions {
  /** Group id: letters, digits, `_`, `-`; its tasks' ids become `<id>.<task id>` (nested: `outer.inner.task`). */
  id: string;
  /** Options every task of the group gets unless it sets its own; they override the DAG's defaultArgs. */
  defaultArgs?: DefaultArgs;
}

const GROUP_ID = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$/;

/** A group of tasks that connects as one node: edges into it reach its roots, edges out leave from its leaves. */
export class TaskGroup implements Connectable, GroupScope {
  /** Every task made inside the group, nested groups included. */
  readonly tasks: Task[] = [];

  constructor(readonly dag: Dag, readonly path: string, readonly defaultArgs: DefaultArgs) {
    brandGroup(this);
  }

  /** The group's full id ("extract", or "outer.inner" when nested). */
  get id(): string {
    return this.path;
  }

  /** @internal */
  add(task: Task): void {
    this.tasks.push(task);
  }

  /** Tasks of the group with no upstream task inside it. */
  roots(): Task[] {
    const inside = new Set(this.tasks.map((t) => t.id));
    return this.tasks.filter((t) => ![...t.upstream].some((u) => inside.has(u)));
  }

  /** Tasks of the group with no downstream task inside it. */
  leaves(): Task[] {
    const inside = new Set(this.tasks.map((t) => t.id));
    return this.tasks.filter((t) => ![...t.downstream].some((d) => inside.has(d)));
  }

  /** Makes `next` run after every leaf of this group; returns `next` so calls can be chained. */
  then<T extends Connectable | Connectable[]>(next: T): T {
    if (this.tasks.length === 0) throw new DagDefinitionError(`group "${this.path}" has no tasks: create tasks inside its build function before connecting it`, "then");
    for (const leaf of this.leaves()) leaf.then(next);
    return next;
  }
}

/** Defines a task group: `group({ id: "extract" }, () => { tasks... })`; tasks made in `build` get ids "extract.<id>". */
export function group(options: GroupOptions, build: () => void): TaskGroup {
  const owner = currentDag("group");
  if (typeof options !== "object" || options === null) throw new DagDefinitionError("group(options, build): options must be an object with an id", "options");
  for (const key of Object.keys(options)) {
    if (!["id", "defaultArgs"].includes(key)) throw new DagDefinitionError(`group("${String(options.id)}"): unknown option "${key}"; known options are id and defaultArgs`, key);
  }
  if (typeof options.id !== "string" || !GROUP_ID.test(options.id)) {
    throw new DagDefinitionError(`group id ${JSON.stringify(options.id)} in DAG "${owner.id}" is invalid: use letters, digits, "_" and "-" (a "." would be ambiguous with nesting)`, "id");
  }
  if (typeof build !== "function") throw new DagDefinitionError(`group("${options.id}"): the second argument must be a build function`, "build");
  const parent = owner.groupStack[owner.groupStack.length - 1];
  const path = parent ? `${parent.path}.${options.id}` : options.id;
  if (!ID_PATTERN.test(path)) throw new DagDefinitionError(`group "${path}" in DAG "${owner.id}": the id is too long`, "id");
  if (owner.groupIds.has(path)) throw new DagDefinitionError(`DAG "${owner.id}" has two groups with id "${path}": group ids must be unique`, "id");
  if (owner.tasks.has(path)) throw new DagDefinitionError(`DAG "${owner.id}" has a task and a group with id "${path}": rename one of them`, "id");
  if (options.defaultArgs !== undefined) checkTaskOptions(`group("${path}"): defaultArgs`, { id: path, ...options.defaultArgs }, []);
  owner.groupIds.add(path);
  const g = new TaskGroup(owner, path, options.defaultArgs ?? {});
  owner.groupStack.push(g);
  try {
    build();
  } finally {
    owner.groupStack.pop();
  }
  if (g.tasks.length === 0) throw new DagDefinitionError(`group "${path}" in DAG "${owner.id}" has no tasks: create tasks inside its build function`, "build");
  return g;
}
