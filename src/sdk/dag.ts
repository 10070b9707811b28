import { DagDefinitionError } from "./errors.js";
import type { DefaultArgs, TaskOptions } from "./types.js";
import type { OperatorSpec } from "./operator-spec.js";

/** Brand that lets the runner recognise DAG objects even across module copies. */
export const DAG_BRAND = Symbol.for("airlock.dag");
const TASK_BRAND = Symbol.for("airlock.task");

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
}

const DAG_OPTION_KEYS = new Set<keyof DagOptions>([
  "id", "description", "schedule", "timezone", "startDate", "endDate", "catchup", "maxActiveRuns", "maxActiveTasks",
  "params", "paramsSchema", "tags", "defaultArgs", "pausedOnCreation",
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
  constructor(readonly dag: Dag, readonly spec: OperatorSpec, readonly options: TaskOptions) {}

  get id(): string {
    return this.options.id;
  }

  /** Makes `next` (one task or several) run after this one; returns `next` so calls can be chained. */
  then<T extends Task | Task[]>(next: T): T {
    for (const t of Array.isArray(next) ? next : [next]) {
      if (!isTask(t)) throw new DagDefinitionError(`${this.id}.then(): expected a task or an array of tasks`, "then");
      if (t.dag !== this.dag) throw new DagDefinitionError(`${this.id}.then(${t.id}): tasks belong to different DAGs`, "then");
      if (t === this) throw new DagDefinitionError(`${this.id}.then(${t.id}): a task cannot depend on itself`, "then");
      this.downstream.add(t.id);
      t.upstream.add(this.id);
    }
    return next;
  }
}

/** A DAG: tasks plus their order. Made by `dag()`; the default export of a DAG file. */
export class Dag {
  readonly [DAG_BRAND] = true;
  readonly tasks = new Map<string, Task>();
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
    const id = options.id;
    if (typeof id !== "string" || !ID_PATTERN.test(id)) {
      throw new DagDefinitionError(`task id ${JSON.stringify(id)} in DAG "${this.id}" is invalid: use letters, digits, "_", "-" and "." (at most 250)`, "id");
    }
    if (this.tasks.has(id)) throw new DagDefinitionError(`DAG "${this.id}" has two tasks with id "${id}": task ids must be unique`, "id");
    const merged = { ...(this.options.defaultArgs ?? {}), ...options } as TaskOptions;
    const task = new Task(this, spec, merged);
    this.tasks.set(id, task);
    return task;
  }

  /** Task ids in an order where every task follows its upstream tasks; throws naming the tasks of a cycle. */
  topologicalOrder(): string[] {
    const indegree = new Map<string, number>();
    for (const [id, t] of this.tasks) indegree.set(id, t.upstream.size);
    const ready = [...indegree].filter(([, d]) => d === 0).map(([id]) => id);
    const order: string[] = [];
    while (ready.length > 0) {
      const id = ready.pop() as string;
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
  if (building) throw new DagDefinitionError(`dag "${options.id}" was defined inside dag "${building.id}": define DAGs at the top level of a file`, "build");
  const result = new Dag(options);
  building = result;
  try {
    build();
  } finally {
    building = undefined;
  }
  result.topologicalOrder();
  return result;
}

/** Orders tasks one after another; an array stands for tasks that run side by side (fan-out / fan-in). */
export function chain(...steps: Array<Task | Task[]>): void {
  for (let i = 0; i + 1 < steps.length; i++) {
    const from = steps[i] as Task | Task[];
    const to = steps[i + 1] as Task | Task[];
    for (const a of Array.isArray(from) ? from : [from]) a.then(to);
  }
}
