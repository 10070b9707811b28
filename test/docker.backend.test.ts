/** The docker backend in runner mode: a real engine, the real runner, real containers. */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerBackend } from "../src/backends/docker/index.js";
import { LABELS, ownerOf } from "../src/backends/docker/spec.js";
import type { Backend, LaunchRequest, RunningTry } from "../src/backends/types.js";
import { decodeEvent, type TaskEvent } from "../src/runner/protocol.js";
import { containerExists, ensureDocker, removeContainers, removeImages } from "./helpers/docker.js";
import { fakeEnvironmentBuild } from "./helpers/docker-env.js";
import { bundleRunner, launchRequest, serializedTask } from "./helpers/docker-runner.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const stateDir = mkdtempSync(path.join(os.tmpdir(), "airlock-docker-backend-"));
const config = {
  project: "airlock-test", stateDir, environmentsFolder: stateDir, projectDir: stateDir,
  docker: { socketPath: null, host: null, registry: null, baseImage: null },
};
let docker: Docker;
let dist: Awaited<ReturnType<typeof bundleRunner>>;
let backend: Backend;

function events(r: LaunchRequest): TaskEvent[] {
  let text = "";
  try {
    text = readFileSync(r.eventsPath, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").filter(Boolean).map((l) => {
    const e = decodeEvent(l);
    if (!e) throw new Error(`events file holds a line that is not an event: ${JSON.stringify(l)}`);
    return e;
  });
}
const rawLog = (r: LaunchRequest) => readFileSync(r.rawLogPath, "utf8");
const bashRequest = (id: string, command: string, extra: Partial<Parameters<typeof launchRequest>[1]> = {}) =>
  launchRequest(stateDir, { dagId: "docker_backend", task: serializedTask(id, "bash", { command }), ...extra });

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function idOf(running: RunningTry): Promise<string> {
  return String(running.handle.containerId);
}

describe("docker backend (runner mode)", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    docker = ensureDocker();
    dist = await bundleRunner();
    backend = createDockerBackend(config, { distDir: dist.distDir });
    expect(await backend.check()).toEqual({ ok: true });
  });
  afterAll(async () => {
    await removeContainers(docker, `${LABELS.owner}=${ownerOf(config)}`);
    await backend?.close();
    dist?.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("runs a bash try through the runner: log to the raw log, events without the nonce, container removed", async () => {
    const r = bashRequest("hello", "echo hello from the container; echo 42");
    r.payload.grants.variables = { token: "granted-secret-value" };
    const running = await backend.launch(r);
    const id = await idOf(running);
    const inspect = await docker.getContainer(id).inspect();
    // Identity labels only; nothing of the payload in the spec.
    expect(inspect.Config.Labels).toMatchObject({ [LABELS.dag]: "docker_backend", [LABELS.task]: "hello", [LABELS.run]: r.key.runId, [LABELS.try]: "1" });
    expect(JSON.stringify(inspect)).not.toContain(r.payload.nonce);
    expect(JSON.stringify(inspect)).not.toContain("granted-secret-value");
    expect(inspect.HostConfig.NetworkMode).toBe("none");
    const exit = await running.exited;
    expect(exit).toMatchObject({ code: 0, signal: null, oomKilled: false });
    expect(rawLog(r)).toContain("hello from the container\n42\n");
    expect(rawLog(r)).not.toContain("airlock:");
    const ev = events(r);
    expect(ev.map((e) => e.type)).toEqual(["started", "result"]);
    expect(ev[1]).toMatchObject({ type: "result", value: { inline: "42" } });
    expect(await containerExists(docker, id)).toBe(false);
  });

  it("gives no network unless granted, and the host's network when it is", async () => {
    const none = bashRequest("net_none", "ls /sys/class/net | tr '\\n' ' '");
    await (await backend.launch(none)).exited;
    expect(events(none).at(-1)).toMatchObject({ type: "result", value: { inline: "lo " } });
    const host = bashRequest("net_host", "ls /sys/class/net | tr '\\n' ' '", { network: "host" });
    await (await backend.launch(host)).exited;
    const ifaces = String((events(host).at(-1) as { value: { inline: string } }).value.inline).trim().split(" ");
    expect(ifaces.length).toBeGreaterThan(1);
  });

  it("limits processes by default, and a command's secret reaches neither argv nor docker inspect", async () => {
    const secret = `s3cret-${randomBytes(6).toString("hex")}`;
    const r = bashRequest("pids_default", `echo started; sleep 3; echo ${secret} | wc -c`);
    const running = await backend.launch(r);
    const id = await idOf(running);
    expect((await docker.getContainer(id).inspect()).HostConfig.PidsLimit).toBe(1024);
    expect(JSON.stringify(await docker.getContainer(id).inspect())).not.toContain(secret);
    await until("the command to start", () => rawLog(r).includes("started"));
    // Every process of the host, the container's included.
    const { readdirSync: ls } = await import("node:fs");
    for (const pid of ls("/proc").filter((n) => /^\d+$/.test(n))) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      expect(cmdline, `process ${pid}`).not.toContain(secret);
    }
    expect((await running.exited).code).toBe(0);
  });

  it("enforces the memory limit and keeps the OOM kill as evidence", async () => {
    const r = bashRequest("oom", "echo filling memory; head -c 1000m /dev/zero | tail > /dev/null", { resources: { memory: "96Mi", pids: 64 } });
    const running = await backend.launch(r);
    const id = await idOf(running);
    const limits = (await docker.getContainer(id).inspect()).HostConfig;
    expect(limits.Memory).toBe(96 * 1024 * 1024);
    expect(limits.PidsLimit).toBe(64);
    const exit = await running.exited;
    expect(exit.oomKilled).toBe(true);
    expect(exit.detail).toContain("killed for exceeding its memory limit of 96 MiB");
    expect(exit.detail).toContain("filling memory");
    expect(await containerExists(docker, id)).toBe(false);
  });

  it("kill (a timeout) stops and removes the container, with exit code and log tail as evidence", async () => {
    const r = bashRequest("sleepy", "echo about to sleep; sleep 300");
    const running = await backend.launch(r);
    const id = await idOf(running);
    await until("the task's first line", () => rawLog(r).includes("about to sleep"));
    await running.kill("execution timeout of 1 s exceeded");
    const exit = await running.exited;
    expect(exit).toMatchObject({ code: null, signal: "SIGKILL" });
    expect(exit.detail).toContain("exited with code 137");
    expect(exit.detail).toContain("killed: execution timeout of 1 s exceeded");
    expect(exit.detail).toContain("about to sleep");
    expect(await containerExists(docker, id)).toBe(false);
    await running.kill("again"); // idempotent
  });

  it("adopts a try after the orchestrator was killed -9: no line or event twice, container removed", async () => {
    const r = bashRequest("adopted", "for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 0.4; done; echo done");
    const requestFile = path.join(r.tryDir, "request.json");
    writeFileSync(requestFile, JSON.stringify(r));
    // node itself (not the tsx wrapper, which would leave its own child running) so SIGKILL kills the orchestrator.
    const child = spawn(process.execPath, ["--import", "tsx", path.join(HERE, "helpers", "docker-launch-child.ts"), requestFile, dist.distDir, stateDir], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => { out += b.toString(); });
    await until("the child's handle", () => out.includes("\n"));
    const handle = JSON.parse(out.split("\n")[0] as string) as RunningTry["handle"];
    await until("two lines in the raw log", () => (rawLog(r).match(/^line /gm) ?? []).length >= 2);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    // Still running without its orchestrator.
    expect((await docker.getContainer(String(handle.containerId)).inspect()).State.Running).toBe(true);

    const restarted = createDockerBackend(config, { distDir: dist.distDir });
    const adopted = await restarted.adopt(handle, r);
    expect(adopted).not.toBeNull();
    const exit = await adopted!.exited;
    expect(exit.code).toBe(0);
    const lines = rawLog(r).split("\n").filter(Boolean);
    expect(lines).toEqual(["line 1", "line 2", "line 3", "line 4", "line 5", "line 6", "line 7", "line 8", "done"]);
    const ev = events(r);
    expect(ev.map((e) => e.seq)).toEqual([...new Set(ev.map((e) => e.seq))].sort((a, b) => a - b));
    expect(ev.filter((e) => e.type === "result")).toHaveLength(1);
    expect(ev.find((e) => e.type === "result")).toMatchObject({ value: { inline: "done" } });
    expect(await containerExists(docker, String(handle.containerId))).toBe(false);
    // A try whose container is gone cannot be adopted: its files tell how it ended.
    expect(await restarted.adopt(handle, r)).toBeNull();
  });

  it("runs in the environment's image, building it on first use from the environment's spec and build", async () => {
    const env = await fakeEnvironmentBuild("from the environment");
    const specDir = path.join(config.environmentsFolder, "greeter");
    mkdirSync(specDir, { recursive: true });
    writeFileSync(path.join(specDir, "package.json"), JSON.stringify({ dependencies: { greeting: "1.0.0" } }));
    writeFileSync(path.join(specDir, "packages.txt"), "jq\n");
    const key = randomBytes(8).toString("hex");
    const image = `${config.project}/greeter:${key}`;
    try {
      const r = bashRequest("in_env", "ls /opt/environment/node_modules; cd /opt/environment && node -e \"import('greeting').then((m) => console.log(m.message))\" && jq --version >/dev/null && echo jq-ok", {
        environment: { name: "greeter", key, root: env.root, nodeBinary: null, image: null },
      });
      const exit = await (await backend.launch(r)).exited;
      expect(exit.code).toBe(0);
      expect(rawLog(r)).toContain(`[airlock] building image ${image} for environment greeter`);
      expect(rawLog(r)).toContain("greeting\nfrom the environment\n");
      expect(events(r).at(-1)).toMatchObject({ type: "result", value: { inline: "jq-ok" } });
      expect((await docker.getImage(image).inspect()).Config.Labels?.["airlock.key"]).toBe(key);
    } finally {
      await removeImages(docker, [image]);
      await env.cleanup();
    }
  });

  it("refuses to launch the same try twice while its container exists", async () => {
    const r = bashRequest("twice", "sleep 300");
    const first = await backend.launch(r);
    await expect(backend.launch(r)).rejects.toThrow(/never runs twice/);
    await first.kill("test over");
    await first.exited;
  });
});
