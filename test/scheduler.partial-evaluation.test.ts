/**
 * The scheduler evaluates only the tasks a try's end can change (those tasks and what follows them), not the whole
 * run. Property: on random DAGs (trigger rules, empty tasks, setups and teardowns, retries) driven through random
 * try ends and branch skips, evaluating the changed tasks leaves every instance and the run in exactly the state a whole-run
 * evaluation leaves them in. Two real SQLite stores follow the same random history, one evaluated each way.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { bash, dag, empty, serializeDag, type Task } from "../src/sdk/index.js";
import type { SerializedDag } from "../src/sdk/serialized.js";
import { loadConfig } from "../src/config/config.js";
import { openStore } from "../src/store/index.js";
import type { Store } from "../src/store/store.js";
import { runTasks } from "../src/core/actions.js";
import { evaluateRun } from "../src/scheduler/run-evaluator.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "airlock-partial-eval-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A small deterministic generator (mulberry32), so a failing seed can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RULES = ["all_success", "all_failed", "all_done", "one_success", "one_failed", "none_failed", "none_skipped", "always"] as const;

function randomDag(seed: number): SerializedDag | null {
  const r = rng(seed);
  const n = 4 + Math.floor(r() * 9);
  try {
    return serializeDag(dag({ id: `p${seed}` }, () => {
      const tasks: Task[] = [];
      for (let i = 0; i < n; i++) {
        const kind = r();
        const role = i < n / 3 && r() < 0.2 ? { setup: true } : i > n / 2 && r() < 0.2 ? { teardown: true } : {};
        const options = { id: `t${i}`, triggerRule: RULES[Math.floor(r() * RULES.length)], retries: r() < 0.2 ? 1 : 0, ...role };
        const t = kind < 0.2 && !("setup" in role) && !("teardown" in role) ? empty(options) : bash({ ...options, command: "true" });
        // Edges only from earlier tasks: the graph is acyclic.
        for (let j = 0; j < i; j++) if (r() < 0.3) tasks[j]?.then(t);
        tasks.push(t);
      }
    }));
  } catch {
    return null; // A combination the DAG API refuses (e.g. a teardown without work): not a DAG to test.
  }
}

interface Side {
  store: Store;
  ctx: { store: Store; config: Awaited<ReturnType<typeof loadConfig>> };
}

async function side(name: string, d: SerializedDag, config: Awaited<ReturnType<typeof loadConfig>>): Promise<Side> {
  const store = await openStore(`sqlite:${path.join(tmp, `${name}.db`)}`);
  await store.createRun({
    runId: "r", dagId: d.id, runType: "manual", logicalDate: "2026-01-01T00:00:00.000Z", dataIntervalStart: "2026-01-01T00:00:00.000Z",
    dataIntervalEnd: "2026-01-01T00:00:00.000Z", conf: {}, params: {}, versionHash: "v", tasks: runTasks(d),
  });
  await store.setRunState("r", "running");
  return { store, ctx: { store, config } };
}

async function snapshot(s: Side): Promise<Record<string, string>> {
  const out: Record<string, string> = { run: (await s.store.getRun("r"))?.state ?? "?" };
  for (const ti of await s.store.listTaskInstances("r")) out[ti.taskId] = ti.state;
  return out;
}

it("evaluating only what a try's end can change equals evaluating the whole run, on 150 random DAGs", async () => {
  const dir = mkdtempSync(path.join(tmp, "project-"));
  writeFileSync(path.join(dir, "airlock.config.json"), "{}");
  const config = await loadConfig({ cwd: dir });
  let tested = 0;
  let steps = 0;
  let partialSteps = 0;
  for (let seed = 1; tested < 150; seed++) {
    const d = randomDag(seed);
    if (!d) continue;
    tested++;
    const [a, b] = [await side(`a${seed}`, d, config), await side(`b${seed}`, d, config)];
    try {
      const run = async (s: Side, changed?: string[]) => {
        const current = await s.store.getRun("r");
        if (current?.state === "running") await evaluateRun(s.ctx as never, current, d, { backendOverride: null, paused: false, changed });
      };
      await run(a);
      await run(b);
      const r = rng(seed * 7919);
      for (let round = 0; round < 40 && (await a.store.getRun("r"))?.state === "running"; round++) {
        // Some queued tasks' tries end, each in a random way; the same on both sides.
        const queued = (await a.store.listTaskInstances("r")).filter((t) => t.state === "queued");
        const ended = queued.filter(() => r() < 0.6);
        if (ended.length === 0 && queued[0]) ended.push(queued[0]);
        const changed: string[] = [];
        for (const ti of ended) {
          const x = r();
          const to = x < 0.55 ? "success" : x < 0.75 ? "failed" : x < 0.9 ? "skipped" : "up_for_retry";
          const canRetry = ti.tryNumber + 1 < ti.maxTries;
          const state = to === "up_for_retry" && !canRetry ? "failed" : to;
          const patch = { state, endDate: "2026-01-01T00:00:01.000Z", ...(state === "up_for_retry" ? { notBefore: "2026-01-01T00:00:00.000Z" } : {}) } as const;
          for (const s of [a, b]) {
            expect(await s.store.transitionTask("r", ti.taskId, ["queued"], { state: "running", tryNumber: ti.tryNumber + 1 } as never)).toBe(true);
            expect(await s.store.transitionTask("r", ti.taskId, ["running"], patch as never)).toBe(true);
          }
          changed.push(ti.taskId);
          // A branch that succeeded skips some of the tasks right after it before its end is reported (as the
          // supervisor records a branch decision): those are not among the changed tasks.
          if (state === "success" && r() < 0.3) {
            for (const next of d.tasks[ti.taskId]?.downstream ?? []) {
              if (r() < 0.5) for (const s of [a, b]) await s.store.transitionTask("r", next, ["none", "scheduled"], { state: "skipped", endDate: "2026-01-01T00:00:01.000Z" });
            }
          }
        }
        await run(a, changed);
        await run(b);
        steps++;
        partialSteps++;
        // Each step compared: the partial side must not fall behind (or run ahead of) the whole-run side.
        expect(await snapshot(a), `seed ${seed} round ${round} after ${changed.join(",")} ended`).toEqual(await snapshot(b));
      }
      expect((await a.store.getRun("r"))?.state, `seed ${seed}: the run ends`).not.toBe("running");
    } finally {
      await a.store.close();
      await b.store.close();
    }
  }
  expect(steps).toBeGreaterThan(150);
  expect(partialSteps).toBe(steps);
}, 300_000);
