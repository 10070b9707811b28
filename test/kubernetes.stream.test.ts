/**
 * The kubernetes backend's channels under stress, on the real test cluster: the API connection cut twice while a
 * task logs (a TCP proxy between the backend and the API server, stopped and restarted) loses and repeats no line;
 * a 5 MiB upstream XCom, too large for the payload Secret, reaches the task through exec.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubernetesBackend } from "../src/backends/kubernetes/index.js";
import type { LaunchRequest, RunningTry } from "../src/backends/types.js";
import { decide, readEvents } from "../src/executor/outcome.js";
import { launchRequest, serializedTask } from "./helpers/docker-runner.js";
import { kubernetesFixture, launchInChild, type KubernetesFixture } from "./helpers/kubernetes-backend.js";

let fx: KubernetesFixture;
const taskLines = (r: LaunchRequest) => readFileSync(r.rawLogPath, "utf8").split("\n").filter((l) => l && !l.startsWith("[airlock]"));
const outcome = (r: LaunchRequest, exit: Awaited<RunningTry["exited"]>) => decide({ events: readEvents(r.eventsPath), exit, scratchDir: r.scratchDir, killedFor: null });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

/** A TCP relay to the API server that can be cut (every connection reset, no listener) and restored on the same port. */
class CuttableProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  connections = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      this.connections++;
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.resetAndDestroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

describe("kubernetes: a cut API connection, large inputs", { timeout: 600_000 }, () => {
  beforeAll(async () => {
    fx = await kubernetesFixture("stream");
  }, 900_000);
  afterAll(async () => {
    await fx?.cleanup();
  });

  it("resumes the log after the API connection is cut twice mid-stream: no line lost or repeated", async () => {
    const admin = readFileSync(fx.kubeconfig, "utf8");
    const server = /server: https:\/\/([^:\s]+):(\d+)/.exec(admin);
    expect(server).not.toBeNull();
    const proxy = new CuttableProxy({ host: server![1]!, port: Number(server![2]) });
    await proxy.start();
    const kubeconfig = path.join(fx.stateDir, "proxied.kubeconfig");
    writeFileSync(kubeconfig, admin.replace(/server: https:\/\/[^:\s]+:\d+/, `server: https://127.0.0.1:${proxy.port}`));
    const backend = createKubernetesBackend({ ...fx.config, kubernetes: { ...fx.config.kubernetes, kubeconfig } });
    try {
      const r = launchRequest(fx.stateDir, { dagId: "k8s_stream", task: { ...serializedTask("chatty", "bash", { command: "for i in $(seq 1 80); do echo line $i; sleep 0.1; done; echo done" }), backend: "kubernetes" } });
      const running = await backend.launch(r);
      for (const after of [5, 30]) {
        await until(`${after} lines`, () => taskLines(r).length >= after);
        const before = proxy.connections;
        await proxy.cut();
        const seenAtCut = taskLines(r).length;
        expect(seenAtCut).toBeLessThan(81);
        await sleep(1500);
        await proxy.start();
        // Both the log follower and the pod watch come back through the restored relay.
        await until("the backend to reconnect", () => proxy.connections >= before + 2, 60_000);
      }
      const exit = await running.exited;
      expect(exit.code).toBe(0);
      expect(taskLines(r)).toEqual([...Array.from({ length: 80 }, (_v, i) => `line ${i + 1}`), "done"]);
      expect(readEvents(r.eventsPath).filter((e) => e.type === "result")).toHaveLength(1);
    } finally {
      await backend.close();
      await proxy.cut();
    }
  });

  it("delivers a 5 MiB upstream XCom into the pod through exec (not the Secret) and the task reads it whole", async () => {
    const big = "0123456789abcdef".repeat(5 * 1024 * 1024 / 16);
    const json = JSON.stringify(big);
    const file = path.join(fx.stateDir, "upstream-xcom.json");
    writeFileSync(file, json);
    const moduleFile = path.join(fx.stateDir, "reader_dag.mjs");
    writeFileSync(moduleFile, [
      'import { createHash } from "node:crypto";',
      'import { dag, fn } from "airlock";',
      'export default dag({ id: "k8s_stream", schedule: null, startDate: "2026-01-01" }, () => {',
      '  fn({ id: "reader", run: (ctx) => { const v = ctx.xcom.pull("producer"); return { length: v.length, sha: createHash("sha256").update(v).digest("hex"), small: ctx.xcom.pull("small") }; } });',
      "});",
    ].join("\n"));
    const r = launchRequest(fx.stateDir, { dagId: "k8s_stream", task: { ...serializedTask("reader", "fn", {}), upstream: ["producer", "small"], backend: "kubernetes" }, resources: { memory: "512Mi" } });
    r.payload.dagModule = moduleFile;
    r.payload.inputs.xcom = {
      producer: { ref: file, size: Buffer.byteLength(json), sha256: createHash("sha256").update(json).digest("hex") },
      small: { inline: { n: 7 } },
    };
    const backend = createKubernetesBackend(fx.config);
    try {
      const exit = await (await backend.launch(r)).exited;
      const result = outcome(r, exit);
      expect(result, readFileSync(r.rawLogPath, "utf8")).toMatchObject({ kind: "success" });
      expect(JSON.parse((result as { xcomJson: string }).xcomJson)).toEqual({ length: big.length, sha: createHash("sha256").update(big).digest("hex"), small: { n: 7 } });
      expect(readFileSync(r.rawLogPath, "utf8")).toMatch(/1 upstream XCom\(s\) of 5120 KiB copied into the pod/);
    } finally {
      await backend.close();
    }
  });

  it("an adopted pod still waiting for its large input gets it from the restarted orchestrator", async () => {
    const value = "x".repeat(2 * 1024 * 1024);
    const json = JSON.stringify(value);
    const file = path.join(fx.stateDir, "adopted-xcom.json");
    writeFileSync(file, json);
    const moduleFile = path.join(fx.stateDir, "adopted_dag.mjs");
    writeFileSync(moduleFile, [
      'import { dag, fn } from "airlock";',
      'export default dag({ id: "k8s_stream", schedule: null, startDate: "2026-01-01" }, () => {',
      '  fn({ id: "late_reader", run: (ctx) => ctx.xcom.pull("producer").length });',
      "});",
    ].join("\n"));
    const r = launchRequest(fx.stateDir, { dagId: "k8s_stream", task: { ...serializedTask("late_reader", "fn", {}), upstream: ["producer"], backend: "kubernetes" }, resources: { memory: "512Mi" } });
    r.payload.dagModule = moduleFile;
    r.payload.inputs.xcom = { producer: { ref: file, size: Buffer.byteLength(json), sha256: createHash("sha256").update(json).digest("hex") } };
    // The orchestrator dies as soon as the pod exists: before it ran, so before its input was copied in.
    const { handle, kill9 } = await launchInChild(r, fx.config);
    await kill9();
    const backend = createKubernetesBackend(fx.config);
    try {
      const adopted = await backend.adopt(handle, r);
      expect(adopted).not.toBeNull();
      const result = outcome(r, await adopted!.exited);
      expect(result, readFileSync(r.rawLogPath, "utf8")).toMatchObject({ kind: "success" });
      expect(JSON.parse((result as { xcomJson: string }).xcomJson)).toBe(value.length);
      expect(readFileSync(r.rawLogPath, "utf8").match(/1 upstream XCom\(s\) of 2048 KiB copied into the pod/g)).toHaveLength(1);
    } finally {
      await backend.close();
    }
  });
});
