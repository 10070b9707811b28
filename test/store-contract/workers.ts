/** Store contract, many machines: the worker registry, fenced try adoption and writes, lease epochs, routes. */
import { describe, expect, it } from "vitest";
import { LeaseLostError } from "../../src/store/ops/fence.js";
import type { NewWorker } from "../../src/store/store.js";
import { claimRequest, newRun, queuedRun, uid, type ContractContext } from "./fixtures.js";

const worker = (id: string, hostname = "host-1"): NewWorker => ({
  workerId: id, hostname, machine: "m-1", pid: 4242, queues: ["default", "gpu"], backends: ["process", "docker"], version: "0.1.0",
});

/** Registers the fleet part of the contract. */
export function workersContract(ctx: ContractContext): void {
  describe("workers, fencing, leases and routes", () => {
    it("registers workers, records heartbeats, declares silent ones lost and re-registers them", async () => {
      const s = ctx.store();
      const [a, b] = [uid("w_"), uid("w_")];
      await s.registerWorker(worker(a));
      await s.registerWorker(worker(b, "host-2"));
      const listed = (await s.listWorkers()).filter((w) => w.workerId === a || w.workerId === b);
      expect(listed.map((w) => [w.workerId, w.state])).toEqual(expect.arrayContaining([[a, "live"], [b, "live"]]));
      expect(listed.find((w) => w.workerId === a)).toMatchObject({ hostname: "host-1", machine: "m-1", pid: 4242, queues: ["default", "gpu"], backends: ["process", "docker"], version: "0.1.0" });
      expect(await s.heartbeatWorker(a)).toBe("live");
      expect(await s.heartbeatWorker(uid("nobody_"))).toBeUndefined();

      // Named ids are declared lost at once; the others only once silent for longer than the timeout.
      const lost = await s.declareLostWorkers(60_000, [b]);
      expect(lost.map((w) => w.workerId)).toEqual([b]);
      expect(await s.heartbeatWorker(b)).toBe("lost");
      await new Promise((r) => setTimeout(r, 30));
      expect((await s.declareLostWorkers(10)).map((w) => w.workerId)).toContain(a);
      expect((await s.declareLostWorkers(10)).map((w) => w.workerId)).not.toContain(a);
      await s.registerWorker(worker(a));
      expect(await s.heartbeatWorker(a)).toBe("live");
      await s.stopWorker(a);
      expect((await s.listWorkers()).find((w) => w.workerId === a)?.state).toBe("stopped");
    });

    it("lets exactly one of several workers adopt a try, and refuses the old owner's writes", async () => {
      const s = ctx.store();
      const { runId, queue, taskIds } = await queuedRun(s, { count: 1 });
      const taskId = taskIds[0]!;
      const owner = uid("w_");
      const [claimed] = await s.claimQueued(claimRequest([queue], { workerId: owner }));
      const key = { runId, taskId, tryNumber: claimed!.tryNumber };
      expect((await s.getTry(key))?.epoch).toBe(0);
      const old = { workerId: owner, epoch: 0 };
      expect(await s.setTryHandle(key, { backend: "process", pid: 1 }, old)).toBe(true);

      const others = await Promise.all([ctx.open(), ctx.open(), ctx.open()]);
      try {
        const results = await Promise.all(others.map((o, i) => o.adoptTry(key, old, { workerId: `adopter-${i}`, hostname: "host-1" })));
        const won = results.filter((r) => r !== null);
        expect(won).toHaveLength(1);
        expect(won[0]!.epoch).toBe(1);
        const t = await s.getTry(key);
        expect(t).toMatchObject({ state: "running", workerId: won[0]!.workerId, epoch: 1 });

        // The old owner can no longer record a handle or an outcome; the new one can.
        expect(await s.setTryHandle(key, { backend: "process", pid: 2 }, old)).toBe(false);
        expect(await s.finishTry(key, { state: "failed", taskState: "failed", exitCode: 1, error: null }, old)).toBe(false);
        expect((await s.getTaskInstance(runId, taskId))?.state).toBe("running");
        expect(await s.adoptTry(key, old, { workerId: "late", hostname: "host-1" })).toBeNull();
        expect(await s.finishTry(key, { state: "success", taskState: "success", exitCode: 0, error: null, xcomJson: "1" }, won[0]!)).toBe(true);
        expect((await s.getTaskInstance(runId, taskId))?.state).toBe("success");
        expect(await s.adoptTry(key, won[0]!, { workerId: "late", hostname: "host-1" })).toBeNull();
      } finally {
        await Promise.all(others.map((o) => o.close()));
      }
    });

    it("raises a lease's epoch when its holder changes, and refuses writes made under a superseded epoch", async () => {
      const s = ctx.store();
      const name = uid("lease_");
      const e1 = await s.takeLease(name, "a", 60_000);
      expect(e1).toBe(1);
      expect(await s.takeLease(name, "a", 60_000)).toBe(1);
      expect(await s.takeLease(name, "b", 60_000)).toBeNull();
      expect(await s.takeLease(name, "a", 1)).toBe(1);
      await new Promise((r) => setTimeout(r, 20));
      const e2 = await s.takeLease(name, "b", 60_000);
      expect(e2).toBe(2);

      const dagId = uid("dag_");
      const stale = { name, holder: "a", epoch: 1 };
      const run = newRun(dagId);
      await expect(s.createRun(run, stale)).rejects.toBeInstanceOf(LeaseLostError);
      expect(await s.getRun(run.runId)).toBeUndefined();
      expect(await s.createRun(run, { name, holder: "b", epoch: 2 })).toBe(true);
      await expect(s.transitionTasks(run.runId, [{ taskId: run.tasks[0]!.taskId, from: ["none"], patch: { state: "queued" } }], stale)).rejects.toBeInstanceOf(LeaseLostError);
      expect((await s.getTaskInstance(run.runId, run.tasks[0]!.taskId))?.state).toBe("none");
      await expect(s.setRunState(run.runId, "running", ["queued"], stale)).rejects.toBeInstanceOf(LeaseLostError);
      expect((await s.getRun(run.runId))?.state).toBe("queued");
      expect(await s.setRunState(run.runId, "running", ["queued"], { name, holder: "b", epoch: 2 })).toBe(true);
    });

    it("stores routes with who and when, replaces and deletes them", async () => {
      const s = ctx.store();
      const dagId = uid("dag_");
      const r = await s.setRoute({ target: dagId, dagId, taskId: null, queue: "server-a", fallbacks: ["server-b"], updatedBy: "ops@laptop" });
      expect(Date.parse(r.updatedAt)).not.toBeNaN();
      await s.setRoute({ target: `${dagId}.load`, dagId, taskId: "load", queue: "server-c", fallbacks: [], updatedBy: "ops" });
      await s.setRoute({ target: dagId, dagId, taskId: null, queue: "server-b", fallbacks: [], updatedBy: "admin" });
      const mine = (await s.listRoutes()).filter((x) => x.dagId === dagId);
      expect(mine.map((x) => [x.target, x.taskId, x.queue, x.fallbacks, x.updatedBy])).toEqual([
        [dagId, null, "server-b", [], "admin"],
        [`${dagId}.load`, "load", "server-c", [], "ops"],
      ]);
      expect(await s.deleteRoute(dagId)).toBe(true);
      expect(await s.deleteRoute(dagId)).toBe(false);
      expect((await s.listRoutes()).filter((x) => x.dagId === dagId).map((x) => x.target)).toEqual([`${dagId}.load`]);
    });
  });
}
