import { DagDefinitionError } from "./errors.js";
import type { DefaultArgs, TaskOptions } from "./types.js";
import type { OperatorSpec } from "./operator-spec.js";
import { checkSetupTeardown } from "./setup-teardown.js";
import { parseDuration, type Duration } from "./duration.js";
import { serializedCallbacks, type CallbackEvent, type Callbacks } from "./notify.js";

/** The callback events a DAG has (a run is not retried). */
export const DAG_CALLBACK_EVENTS: readonly CallbackEvent[] = ["onSuccess", "onFailure"];

/** Brand that lets the runner recognise DAG objects even across module copies. */
export const DAG_BRAND = Symbol.for("airlock.dag");
const TASK_BRAND = Symbol.for("airlock.task");
const GROUP_BRAND = Symbol.for("airlock.group");

/**
 * What `.then()` and `chain()` connect: a task, or a task group standing for its tasks (edges into a group go to
 * its roots, edges out of it leave from its leaves, as in Airflow).
 */
export interface Connectable {
  /** Tasks that edges into this node reach. */
  roots(): Task[];
  /** Tasks that edges out of this node leave from. */
  leaves(): Task[];
}

/** @internal The scope of a `group()` being built: its id path and the defaults its tasks get. */
export interface GroupScope {
  readonly path: string;
  readonly defaultArgs: DefaultArgs;
  /** @internal Records a task made inside the group. */
  add(task: Task): void;
}

/** Options of `dag()`. */
export interface DagOptions {
  /** DAG id: letters, digits, `_`, `-`, `.`. */
  id: string;
  description?: string;
  /**
   * Cron expression, a preset (@once @hourly @daily @weekly @monthly @yearly), null for manual runs only, or
   * `{ datasets: [...] }` to run whenever every listed dataset has a new version. @default null
   */
  schedule?: string | null | DatasetSchedule;
  /** IANA time zone the schedule and dates are read in. @default "UTC" */
  timezone?: string;
  /** First logical date ("2026-01-01" or ISO date-time, in `timezone`). Required for scheduled DAGs. */
  startDate?: string;
  /** No run has a logical date after this. */
  endDate?: string;
  /** Create runs for every missed interval since startDate. @default false */
  catchup?: boolean;
  /** Runs of this DAG that may be active at once. @default 16 */
  maxActiveRuns?: number;
  /**
   * Task instances of this DAG (all its runs together) that may run at once, across every worker.
   * @default no bound (pools and each worker's parallelism still apply)
   */
  maxActiveTasks?: number;
  /** Param defaults; run conf overrides them. */
  params?: Record<string, unknown>;
  /** JSON Schema the merged params must satisfy. */
  paramsSchema?: Record<string, unknown>;
  tags?: string[];
  /** Options every task of this DAG gets unless it sets its own. */
  defaultArgs?: DefaultArgs;
  /** Paused when first seen. @default false */
  pausedOnCreation?: boolean;
  /** A run still going after this long fails; its unfinished tasks are stopped (failed) or skipped. @default none */
  dagrunTimeout?: Duration;
  /** Pause the DAG (with the reason shown in the CLI and UI) after this many failed runs in a row. @default none */
  maxConsecutiveFailedRuns?: number;
  /** Called when a run succeeds, in the context of its last task. */
  onSuccess?: Callbacks;
  /** Called when a run fails, in the context of the failed task. */
  onFailure?: Callbacks;
}

const DAG_OPTION_KEYS = new Set<keyof DagOptions>([
  "id", "description", "schedule", "timezone", "startDate", "endDate", "catchup", "maxActiveRuns", "maxActiveTasks",
  "params", "paramsSchema", "tags", "defaultArgs", "pausedOnCreation", "dagrunTimeout", "maxConsecutiveFailedRuns",
  "onSuccess", "onFailure",
]);

/** Data-aware schedule: a run once each listed dataset was written again since the last such run. */
export interface DatasetSchedule {
  datasets: string[];
}

export const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}$/;

/** One node of a DAG. Order tasks with `a.then(b)` or `chain(a, b, c)`. */
export class Task {
  readonly [TASK_BRAND] = true;
  readonly upstream = new Set<string>();
  readonly downstream = new Set<string>();
  /** Datasets a pipeline node reads and writes. */
  datasets?: { inputs: string[]; outputs: string[] };
  /** Tags of a pipeline node. */
  tags?: string[];
  /** The upstream task whose XCom list this task is mapped over (set by `expand`). */
  mapOver: string | undefined;
  constructor(readonly dag: Dag, readonly spec: OperatorSpec, readonly options: TaskOptions) {}

  get id(): string {
    return this.options.id;
  }

  /** The id of the task group it belongs to (the innermost, with its parents' ids: "extract.files"), if any. */
  group: string | undefined;

  /** Makes `next` (tasks or groups, one or several) run after this one; returns `next` so calls can be chained. */
  then<T extends Connectable | Connectable[]>(next: T): T {
    for (const t of entryTasks(`${this.id}.then()`, next)) {
      if (t.dag !== this.dag) throw new DagDefinitionError(`${this.id}.then(${t.id}): tasks belong to different DAGs`, "then");
      if (t === this) throw new DagDefinitionError(`${this.id}.then(${t.id}): a task cannot depend on itself`, "then");
      this.downstream.add(t.id);
      t.upstream.add(this.id);
    }
    return next;
  }

  /**
   * Dynamic task mapping: one instance of this task per element of `upstream`'s XCom list, made at run time. Each
   * instance sees its element as `ctx.item` (`{{ item }}` in templates) and its position as `ctx.mapIndex`; a
   * downstream pull of this task's XCom gets the list of results in map-index order. Returns this task.
   */
  expand(upstream: Task): this {
    if (!isTask(upstream)) throw new DagDefinitionError(`${this.id}.expand(): expected the upstream task whose XCom list to map over, e.g. each.expand(list)`, "expand");
    if (upstream.dag !== this.dag) throw new DagDefinitionError(`${this.id}.expand(${upstream.id}): tasks belong to different DAGs`, "expand");
    if (upstream === this) throw new DagDefinitionError(`${this.id}.expand(${upstream.id}): a task cannot map over its own XCom`, "expand");
    if (this.mapOver !== undefined) throw new DagDefinitionError(`${this.id}.expand(${upstream.id}): already mapped over "${this.mapOver}"; a task maps over one upstream list`, "expand");
    if (this.options.setup || this.options.teardown) throw new DagDefinitionError(`${this.id}.expand(): setup and teardown tasks cannot be mapped`, "expand");
    if (this.spec.kind === "branch" || this.spec.kind === "trigger_dag") throw new DagDefinitionError(`${this.id}.expand(): a ${this.spec.kind} task cannot be mapped`, "expand");
    this.mapOver = upstream.id;
    upstream.then(this);
    return this;
  }

  /** A task is its own root. */
  roots(): Task[] {
    return [this];
  }

  /** A task is its own leaf. */
  leaves(): Task[] {
    return [this];
  }
}

/** True for task groups made by `group()`. */
export function isGroup(value: unknown): value is Connectable {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[GROUP_BRAND] === true;
}

/** @internal Brands a task group so `.then()` and `chain()` accept it across module copies. */
export function brandGroup(group: object): void {
  Object.defineProperty(group, GROUP_BRAND, { value: true });
}

/** The tasks that edges into `next` reach; `where` names the call in errors. */
function entryTasks(where: string, next: Connectable | Connectable[]): Task[] {
  const out: Task[] = [];
  for (const n of Array.isArray(next) ? next : [next]) {
    if (!isTask(n) && !isGroup(n)) throw new DagDefinitionError(`${where}: expected a task, a task group or an array of them`, "then");
    out.push(...n.roots());
  }
  return out;
}

/** A DAG: tasks plus their order. Made by `dag()`; the default export of a DAG file. */
export class Dag {
  readonly [DAG_BRAND] = true;
  readonly tasks = new Map<string, Task>();
  /** @internal Groups being built, innermost last. */
  readonly groupStack: GroupScope[] = [];
  /** @internal Ids of the groups defined so far (unique in the DAG, like task ids). */
  readonly groupIds = new Set<string>();
  constructor(readonly options: DagOptions) {}

  get id(): string {
    return this.options.id;
  }

  /** The task with this id, or undefined. */
  task(id: string): Task | undefined {
    return this.tasks.get(id);
  }

  /** @internal Adds a task made by an operator factory. */
  addTask(spec: OperatorSpec, options: TaskOptions): Task {
    if (typeof options.id !== "string" || !ID_PATTERN.test(options.id)) {
      throw new DagDefinitionError(`task id ${JSON.stringify(options.id)} in DAG "${this.id}" is invalid: use letters, digits, "_", "-" and "." (at most 250)`, "id");
    }
    // Inside group("extract") a task "load" is "extract.load", as in Airflow; defaults apply outermost first.
    const scope = this.groupStack[this.groupStack.length - 1];
    const id = scope ? `${scope.path}.${options.id}` : options.id;
    if (this.tasks.has(id)) throw new DagDefinitionError(`DAG "${this.id}" has two tasks with id "${id}": task ids must be unique`, "id");
    if (this.groupIds.has(id)) throw new DagDefinitionError(`DAG "${this.id}" has a task and a group with id "${id}": rename one of them`, "id");
    const defaults = Object.assign({}, this.options.defaultArgs ?? {}, ...this.groupStack.map((g) => g.defaultArgs)) as DefaultArgs;
    const task = new Task(this, spec, { ...defaults, ...options, id } as TaskOptions);
    task.group = scope?.path;
    this.tasks.set(id, task);
    for (const g of this.groupStack) g.add(task);
    return task;
  }

  /**
   * Task ids in an order where every task follows its upstream tasks, and otherwise in the order they were
   * declared (the grid and graph show tasks in this order); throws naming the tasks of a cycle.
   */
  topologicalOrder(): string[] {
    const indegree = new Map<string, number>();
    const declared = new Map<string, number>();
    for (const [id, t] of this.tasks) {
      indegree.set(id, t.upstream.size);
      declared.set(id, declared.size);
    }
    // The ready task declared first goes next: a binary heap keyed by declaration index keeps this O(n log n).
    const ready = new MinHeap<string>((id) => declared.get(id) as number);
    for (const [id, d] of indegree) if (d === 0) ready.push(id);
    const order: string[] = [];
    for (let id = ready.pop(); id !== undefined; id = ready.pop()) {
      order.push(id);
      for (const next of (this.tasks.get(id) as Task).downstream) {
        const d = (indegree.get(next) as number) - 1;
        indegree.set(next, d);
        if (d === 0) ready.push(next);
      }
    }
    if (order.length !== this.tasks.size) {
      const cycle = findCycle(this);
      throw new DagDefinitionError(`DAG "${this.id}" has a cycle: ${cycle.join(" -> ")}; remove one of these dependencies`, "dependencies");
    }
    return order;
  }
}

/** A binary min-heap of items ordered by a numeric key. */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly key: (item: T) => number) {}

  push(item: T): void {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (this.key(a[parent] as T) <= this.key(a[i] as T)) break;
      [a[parent], a[i]] = [a[i] as T, a[parent] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.key(a[l] as T) < this.key(a[m] as T)) m = l;
      if (r < a.length && this.key(a[r] as T) < this.key(a[m] as T)) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i] as T, a[m] as T];
      i = m;
    }
    return top;
  }
}

function findCycle(d: Dag): string[] {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 1);
    stack.push(id);
    for (const next of (d.tasks.get(id) as Task).downstream) {
      if (state.get(next) === 1) return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const id of d.tasks.keys()) {
    if (!state.has(id)) {
      const found = visit(id);
      if (found) return found;
    }
  }
  return [];
}

/** True for tasks made by an operator factory. */
export function isTask(value: unknown): value is Task {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[TASK_BRAND] === true;
}

/** True for DAGs made by `dag()`, whichever copy of the SDK made them. */
export function isDag(value: unknown): value is Dag {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[DAG_BRAND] === true;
}

let building: Dag | undefined;

/** @internal The DAG whose build function is running. */
export function currentDag(factory: string): Dag {
  if (!building) {
    throw new DagDefinitionError(`${factory}() was called outside a DAG: create tasks inside the build function of dag(options, () => { ... })`, "build");
  }
  return building;
}

/** Defines a DAG: `export default dag({ id, schedule, ... }, () => { tasks and their order })`. */
export function dag(options: DagOptions, build: () => void): Dag {
  if (typeof options !== "object" || options === null) throw new DagDefinitionError("dag(options, build): options must be an object with at least an id", "options");
  for (const key of Object.keys(options)) {
    if (!DAG_OPTION_KEYS.has(key as keyof DagOptions)) {
      throw new DagDefinitionError(`dag "${String(options.id)}": unknown option "${key}"; known options are ${[...DAG_OPTION_KEYS].join(", ")}`, key);
    }
  }
  if (typeof options.id !== "string" || !ID_PATTERN.test(options.id)) {
    throw new DagDefinitionError(`dag id ${JSON.stringify(options.id)} is invalid: use letters, digits, "_", "-" and "."`, "id");
  }
  const sched = options.schedule;
  if (typeof sched === "object" && sched !== null) {
    const list = (sched as DatasetSchedule).datasets;
    if (Object.keys(sched).join() !== "datasets" || !Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === "string" && x !== "")) {
      throw new DagDefinitionError(`dag "${options.id}": schedule must be a cron string, a preset, null, or { datasets: ["name", ...] } with at least one dataset name`, "schedule");
    }
  }
  if (options.maxActiveTasks !== undefined && !(Number.isSafeInteger(options.maxActiveTasks) && options.maxActiveTasks > 0)) {
    throw new DagDefinitionError(`dag "${options.id}": maxActiveTasks must be an integer >= 1, got ${JSON.stringify(options.maxActiveTasks)}`, "maxActiveTasks");
  }
  if (typeof build !== "function") throw new DagDefinitionError(`dag "${options.id}": the second argument must be a build function`, "build");
  serializedCallbacks(`dag "${options.id}"`, options, DAG_CALLBACK_EVENTS);
  if (options.dagrunTimeout !== undefined) parseDuration(options.dagrunTimeout, `dag "${options.id}": dagrunTimeout`);
  const m = options.maxConsecutiveFailedRuns;
  if (m !== undefined && (!Number.isInteger(m) || m < 1)) throw new DagDefinitionError(`dag "${options.id}": maxConsecutiveFailedRuns must be an integer >= 1, got ${JSON.stringify(m)}`, "maxConsecutiveFailedRuns");
  if (building) throw new DagDefinitionError(`dag "${options.id}" was defined inside dag "${building.id}": define DAGs at the top level of a file`, "build");
  const result = new Dag(options);
  building = result;
  try {
    build();
  } finally {
    building = undefined;
  }
  result.topologicalOrder();
  checkSetupTeardown(result);
  return result;
}

/** Orders tasks (or groups) one after another; an array stands for nodes side by side (fan-out / fan-in). */
export function chain(...steps: Array<Connectable | Connectable[]>): void {
  for (let i = 0; i + 1 < steps.length; i++) {
    const from = steps[i] as Connectable | Connectable[];
    const to = steps[i + 1] as Connectable | Connectable[];
    for (const a of Array.isArray(from) ? from : [from]) {
      if (!isTask(a) && !isGroup(a)) throw new DagDefinitionError(`chain(): step ${i + 1} is not a task, a task group or an array of them`, "chain");
      for (const leaf of a.leaves()) leaf.then(to);
    }
  }
}
