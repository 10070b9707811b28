/** Store contract, tries: finishing them, retries, handles, running tries by host, and XComs (up to 64 MiB). */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.js";
import { claimRequest, queueTasks, queuedRun, uid, type ContractContext } from "./fixtures.js";

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/** Claims the next try of a queued-or-finished instance (re-queueing it first when needed). */
async function nextTry(s: Store, runId: string, taskId: string, queue: string, hostname = "host-1"): Promise<number> {
  const ti = await s.getTaskInstance(runId, taskId);
  if (ti?.state !== "queued") await queueTasks(s, runId, [taskId], [ti?.state ?? "none"]);
  const claimed = (await s.claimQueued(claimRequest([queue], { hostname }))).find((c) => c.taskId === taskId);
  if (!claimed) throw new Error(`could not claim ${taskId}`);
  return claimed.tryNumber;
}

/** Registers the try and XCom part of the contract. */
export function triesContract(ctx: ContractContext): void {
  describe("tries and XComs", () => {
    it("finishes a running try once, storing its XCom and ending the instance", async () => {
      const s = ctx.store();
      const { dagId, runId, queue, taskIds } = await queuedRun(s, { count: 1 });
      const taskId = taskIds[0]!;
      await nextTry(s, runId, taskId, queue);
      const before = await s.latestChangeId();
      const key = { runId, taskId, tryNumber: 1 };
      const xcom = JSON.stringify({ rows: 3, names: ["å", "😀"] });
      expect(await s.finishTry(key, { state: "success", taskState: "success", exitCode: 0, error: null, xcomJson: xcom })).toBe(true);

      const t = await s.getTry(key);
      expect(t).toMatchObject({ state: "success", exitCode: 0, error: null });
      expect(Date.parse(t?.endedAt ?? "")).not.toBeNaN();
      const ti = await s.getTaskInstance(runId, taskId);
      expect(ti).toMatchObject({ state: "success", tryNumber: 1, notBefore: null });
      expect(Date.parse(ti?.endDate ?? "")).not.toBeNaN();
      expect(await s.getXcom(runId, taskId)).toBe(xcom);
      expect((await s.listChangesSince(before)).map((c) => [c.kind, c.dagId, c.taskId, c.tryNumber, c.state])).toEqual([["task", dagId, taskId, 1, "success"]]);

      // A try that is not running (finished, or never claimed) cannot be finished, and nothing changes.
      expect(await s.finishTry(key, { state: "failed", taskState: "failed", exitCode: 1, error: null, xcomJson: "\"late\"" })).toBe(false);
      expect(await s.finishTry({ ...key, tryNumber: 2 }, { state: "success", taskState: "success", exitCode: 0, error: null })).toBe(false);
      expect((await s.getTry(key))?.state).toBe("success");
      expect(await s.getXcom(runId, taskId)).toBe(xcom);
      expect(await s.getTry({ ...key, tryNumber: 2 })).toBeUndefined();
    });

    it("records a failure's error and exit code, and a retry's earliest next start without ending the instance", async () => {
      const s = ctx.store();
      const { runId, queue, taskIds } = await queuedRun(s, { count: 2, queued: false });
      const [failing, retrying] = [taskIds[0]!, taskIds[1]!];
      await nextTry(s, runId, failing, queue);
      const error = { type: "TypeError", message: "x is not a function", stack: "TypeError: x is not a function\n    at run (dag.ts:3:9)" };
      expect(await s.finishTry({ runId, taskId: failing, tryNumber: 1 }, { state: "failed", taskState: "failed", exitCode: 3, error })).toBe(true);
      expect(await s.getTry({ runId, taskId: failing, tryNumber: 1 })).toMatchObject({ state: "failed", exitCode: 3, error });
      expect((await s.getTaskInstance(runId, failing))?.state).toBe("failed");
      expect(await s.getXcom(runId, failing)).toBeUndefined();

      await nextTry(s, runId, retrying, queue);
      const notBefore = "2030-01-01T00:00:30.000Z";
      expect(await s.finishTry({ runId, taskId: retrying, tryNumber: 1 }, { state: "failed", taskState: "up_for_retry", exitCode: null, error: { type: "Timeout", message: "took too long" }, notBefore })).toBe(true);
      const ti = await s.getTaskInstance(runId, retrying);
      expect(ti).toMatchObject({ state: "up_for_retry", notBefore, endDate: null, tryNumber: 1 });
      expect((await s.getTry({ runId, taskId: retrying, tryNumber: 1 }))?.exitCode).toBeNull();
    });

    it("ends the try but keeps the instance's new state when it was cleared or marked meanwhile", async () => {
      const s = ctx.store();
      const { runId, queue, taskIds } = await queuedRun(s, { count: 1 });
      const taskId = taskIds[0]!;
      await nextTry(s, runId, taskId, queue);
      expect(await s.transitionTask(runId, taskId, ["running"], { state: "failed" })).toBe(true);
      expect(await s.finishTry({ runId, taskId, tryNumber: 1 }, { state: "success", taskState: "success", exitCode: 0, error: null })).toBe(true);
      expect((await s.getTry({ runId, taskId, tryNumber: 1 }))?.state).toBe("success");
      expect((await s.getTaskInstance(runId, taskId))?.state).toBe("failed");
    });

    it("stores a try's backend handle and lists running tries by host for adoption", async () => {
      const s = ctx.store();
      const [hostA, hostB] = [uid("host_"), uid("host_")];
      const { runId, queue, taskIds } = await queuedRun(s, { count: 3, queued: false });
      await nextTry(s, runId, taskIds[0]!, queue, hostA);
      await nextTry(s, runId, taskIds[1]!, queue, hostA);
      await nextTry(s, runId, taskIds[2]!, queue, hostB);
      const handle = { backend: "docker" as const, containerId: "abc123", labels: { run: runId } };
      await s.setTryHandle({ runId, taskId: taskIds[0]!, tryNumber: 1 }, handle);
      expect((await s.getTry({ runId, taskId: taskIds[0]!, tryNumber: 1 }))?.handle).toEqual(handle);

      const onA = await s.listRunningTries(hostA);
      expect(onA.map((t) => t.taskId).sort()).toEqual([taskIds[0], taskIds[1]]);
      expect(onA.find((t) => t.taskId === taskIds[0])?.handle).toEqual(handle);
      expect((await s.listRunningTries(hostB)).map((t) => t.taskId)).toEqual([taskIds[2]]);
      const everywhere = (await s.listRunningTries()).filter((t) => t.runId === runId);
      expect(everywhere).toHaveLength(3);

      await s.finishTry({ runId, taskId: taskIds[1]!, tryNumber: 1 }, { state: "success", taskState: "success", exitCode: 0, error: null });
      expect((await s.listRunningTries(hostA)).map((t) => t.taskId)).toEqual([taskIds[0]]);
      expect(await s.listRunningTries(uid("host_"))).toEqual([]);
    });

    it("records which tries ran in a reused runner, from their handle", async () => {
      const s = ctx.store();
      const { runId, queue, taskIds } = await queuedRun(s, { count: 2, queued: false });
      const [a, b] = [taskIds[0]!, taskIds[1]!];
      await nextTry(s, runId, a, queue);
      await nextTry(s, runId, b, queue);
      expect((await s.getTry({ runId, taskId: a, tryNumber: 1 }))?.reused).toBe(false);
      await s.setTryHandle({ runId, taskId: a, tryNumber: 1 }, { backend: "sandbox", pid: 7, reused: true, runnerTry: 3 });
      await s.setTryHandle({ runId, taskId: b, tryNumber: 1 }, { backend: "sandbox", pid: 8 });
      expect((await s.getTry({ runId, taskId: a, tryNumber: 1 }))?.reused).toBe(true);
      expect((await s.listTries(runId, b)).map((t) => t.reused)).toEqual([false]);
      expect(await s.listReusedTries(runId)).toEqual([{ taskId: a, mapIndex: -1, tryNumber: 1 }]);
      // Its next try runs fresh: only try 1 stays reused.
      await s.finishTry({ runId, taskId: a, tryNumber: 1 }, { state: "failed", taskState: "up_for_retry", exitCode: 1, error: null });
      await nextTry(s, runId, a, queue);
      await s.setTryHandle({ runId, taskId: a, tryNumber: 2 }, { backend: "sandbox", pid: 9 });
      expect((await s.listTries(runId, a)).map((t) => t.reused)).toEqual([true, false]);
      expect(await s.listReusedTries(runId)).toEqual([{ taskId: a, mapIndex: -1, tryNumber: 1 }]);
      expect(await s.listReusedTries(uid("run_"))).toEqual([]);
    });

    it("returns the XCom of the latest try, singly and for many tasks at once", async () => {
      const s = ctx.store();
      const { runId, queue, taskIds } = await queuedRun(s, { count: 3, queued: false });
      const [a, b, c] = [taskIds[0]!, taskIds[1]!, taskIds[2]!];
      const ok = (xcomJson?: string) => ({ state: "success" as const, taskState: "success" as const, exitCode: 0, error: null, xcomJson });
      for (const t of [a, b, c]) await nextTry(s, runId, t, queue);
      await s.finishTry({ runId, taskId: a, tryNumber: 1 }, ok("\"a1\""));
      await s.finishTry({ runId, taskId: b, tryNumber: 1 }, ok("{\"b\":1}"));
      await s.finishTry({ runId, taskId: c, tryNumber: 1 }, ok());

      // Cleared and run again: the newer try's XCom wins over the older one.
      expect(await nextTry(s, runId, a, queue)).toBe(2);
      await s.finishTry({ runId, taskId: a, tryNumber: 2 }, ok("\"a2\""));
      expect(await s.getXcom(runId, a)).toBe("\"a2\"");
      expect(await s.getXcom(runId, c)).toBeUndefined();
      expect(await s.getXcom(runId, "missing")).toBeUndefined();

      const many = await s.getXcoms(runId, [a, b, c, "missing"]);
      expect(Object.fromEntries(many)).toEqual({ [a]: "\"a2\"", [b]: "{\"b\":1}" });
      expect((await s.getXcoms(runId, [])).size).toBe(0);
      expect((await s.getXcoms(uid("run_"), [a])).size).toBe(0);
    });

    it("round-trips a 64 MiB XCom intact", async () => {
      const s = ctx.store();
      const { runId, queue, taskIds } = await queuedRun(s, { count: 1 });
      const taskId = taskIds[0]!;
      await nextTry(s, runId, taskId, queue);
      // Random base64 (so no compression or truncation can pass unnoticed) plus multi-byte characters.
      const xcom = JSON.stringify({ note: "ÆØÅ ✓ 🚀 \\ \" \n", data: randomBytes(48 * 1024 * 1024).toString("base64") });
      expect(Buffer.byteLength(xcom)).toBeGreaterThanOrEqual(64 * 1024 * 1024);
      const want = sha256(xcom);
      expect(await s.finishTry({ runId, taskId, tryNumber: 1 }, { state: "success", taskState: "success", exitCode: 0, error: null, xcomJson: xcom })).toBe(true);
      const got = await s.getXcom(runId, taskId);
      expect(got?.length).toBe(xcom.length);
      expect(sha256(got ?? "")).toBe(want);
      const viaMany = (await s.getXcoms(runId, [taskId])).get(taskId);
      expect(sha256(viaMany ?? "")).toBe(want);
    }, 120_000);
  });
}
