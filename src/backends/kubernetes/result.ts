/**
 * The large-result channel. A result of 1 MiB or more never travels in the log (the kubelet rotates container
 * logs at 10 MiB and a follow may miss a rotation): the runner writes it to the pod's scratch emptyDir and sends
 * only its size and sha256 as an event. The task container then waits, bounded, while the orchestrator copies
 * the file out through `exec cat` and verifies the checksum, then marks it collected so the container exits.
 */
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { type Readable, Writable } from "node:stream";
import { Exec, type V1Status } from "@kubernetes/client-node";
import type { KubeClient } from "./client.js";
import { KubernetesError, messageOf } from "./errors.js";
import { COLLECTED_MARK, POD_SCRATCH } from "./runner-pod.js";
import { TASK_CONTAINER } from "./spec.js";

/** A result file to collect, as the runner's `result` event names it. */
export interface ResultRef {
  ref: string;
  size: number;
  sha256: string;
}

/** Runs a command in the task container; stdout goes to `out`; rejects on a non-success status or after `timeoutMs`. */
export async function execIn(client: KubeClient, pod: string, command: string[], out: Writable | null, timeoutMs: number, stdin: Readable | null = null): Promise<void> {
  const errors: Buffer[] = [];
  const stderr = new Writable({ write: (c: Buffer, _e, cb) => { if (errors.length < 64) errors.push(c); cb(); } });
  let status: V1Status | undefined;
  const ws = await new Exec(client.kc).exec(client.namespace, pod, TASK_CONTAINER, command, out, stderr, stdin, false, (s) => { status = s; });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    ws.on("close", () => {
      clearTimeout(timer);
      if (status && status.status !== "Success") reject(new Error(`${status.message ?? "command failed"}${errors.length ? `: ${Buffer.concat(errors).toString("utf8").trim()}` : ""}`));
      else resolve();
    });
    ws.on("error", (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Copies the result file to the same relative path under `scratchDir`, verifies it, and releases the container. */
export async function collectResult(client: KubeClient, pod: string, result: ResultRef, scratchDir: string): Promise<void> {
  if (path.isAbsolute(result.ref) || result.ref.split("/").includes("..")) {
    throw new KubernetesError("result_fetch_failed", `the task named result file ${result.ref}, which is outside its scratch directory`);
  }
  const target = path.join(scratchDir, result.ref);
  mkdirSync(path.dirname(target), { recursive: true });
  // A minute, plus a second per 8 MiB: even a slow API server copies 64 MiB well within that.
  const timeoutMs = 60_000 + Math.ceil(result.size / (8 * 1024 * 1024)) * 1000;
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const hash = createHash("sha256");
    // Written synchronously: the exec stream has no backpressure, and its end must mean the file is complete.
    const fd = openSync(target, "w", 0o600);
    const out = new Writable({
      write: (c: Buffer, _e, cb) => {
        hash.update(c);
        for (let off = 0; off < c.length; ) off += writeSync(fd, c, off);
        cb();
      },
    });
    try {
      await execIn(client, pod, ["cat", `${POD_SCRATCH}/${result.ref}`], out, timeoutMs);
      closeSync(fd);
      if (hash.digest("hex") !== result.sha256) throw new Error("the copy does not match the result's sha256");
      await execIn(client, pod, ["/bin/sh", "-c", `: > ${POD_SCRATCH}/${COLLECTED_MARK}`], null, 30_000);
      return;
    } catch (err) {
      try {
        closeSync(fd);
      } catch { /* closed already */ }
      rmSync(target, { force: true });
      lastError = err;
    }
  }
  throw new KubernetesError("result_fetch_failed", `copying the ${Math.round(result.size / 1024 / 1024)} MiB result out of pod ${pod} failed three times (${messageOf(lastError)}); check that Airlock may create pods/exec in the namespace`, { cause: lastError });
}
