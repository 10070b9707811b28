/**
 * `airlock tasks test`: one task of a DAG run once, without its dependencies and without writing any state: the run
 * lives in a throwaway store holding a copy of the DAG, the connections and the variables, and its logs are removed.
 */
import { mkdtempSync, rmdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AirlockContext } from "../core/context.js";
import { NotFoundError } from "../core/errors.js";
import { logPath } from "../core/paths.js";
import { DagFileProcessor } from "../dagfiles/processor.js";
import { openStore } from "../store/index.js";
import { testDag, type RunSummary, type TestRunOptions } from "./test-run.js";

/** Runs `taskId` of `dagId` once in a throwaway store; returns the task's summary row and the run's. */
export async function testTask(ctx: AirlockContext, dagId: string, taskId: string, options: Omit<TestRunOptions, "onlyTask" | "refresh"> = {}): Promise<RunSummary> {
  await new DagFileProcessor(ctx).refresh();
  const dag = await ctx.store.getDag(dagId);
  const version = dag ? await ctx.store.getDagVersion(dag.versionHash) : undefined;
  if (!dag || !dag.isActive || !version) throw new NotFoundError("DAG", dagId, "List DAGs with `airlock dags list` (it also shows import errors)");
  if (!version.serialized.tasks[taskId]) {
    throw new NotFoundError("Task", taskId, `Tasks of DAG "${dagId}": ${version.serialized.order.slice(0, 20).join(", ")}`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-tasks-test-"));
  const scratch = await openStore(`sqlite:${path.join(dir, "store.db")}`);
  let runId: string | null = null;
  try {
    // A test run sends no alerts: the copy has no callbacks (its version hash stays, so the bundle is the same).
    const serialized = structuredClone(version.serialized);
    delete serialized.callbacks;
    for (const t of Object.values(serialized.tasks)) delete t.callbacks;
    await scratch.upsertDag({ fileloc: dag.fileloc, serialized, versionHash: dag.versionHash, bundlePath: version.bundlePath, pausedByDefault: false });
    // Secret fields stay ciphertext: the copy is read with the project's own key.
    for (const c of await ctx.store.listConnections()) await scratch.upsertConnection(c);
    for (const v of await ctx.store.listVariables()) await scratch.setVariable(v);
    for (const p of await ctx.store.listPools()) await scratch.setPool(p);
    const summary = await testDag({ ...ctx, store: scratch }, dagId, {
      ...options, onlyTask: taskId, refresh: false,
      onRunCreated: (id, runCtx) => {
        runId = id;
        options.onRunCreated?.(id, runCtx);
      },
    });
    return { ...summary, tasks: summary.tasks.filter((t) => t.taskId === taskId) };
  } finally {
    await scratch.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    if (runId) {
      const runLogs = path.dirname(path.dirname(logPath(ctx.config.stateDir, { dagId, runId, taskId, tryNumber: 1 })));
      rmSync(runLogs, { recursive: true, force: true });
      // The DAG's log folder too, when this test made it.
      try {
        rmdirSync(path.dirname(runLogs));
      } catch {
        // Not empty: other runs' logs live there.
      }
    }
  }
}
