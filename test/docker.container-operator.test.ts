/** The container operator on the docker backend: a user's image run directly, secrets, XCom, autoRemove, reaping. */
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { PassThrough } from "node:stream";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerBackend, reapOrphans } from "../src/backends/docker/index.js";
import { splitWords } from "../src/backends/docker/container-task.js";
import { LABELS, ownerOf } from "../src/backends/docker/spec.js";
import type { Backend, LaunchRequest } from "../src/backends/types.js";
import { decodeEvent, type TaskEvent } from "../src/runner/protocol.js";
import { dag } from "../src/sdk/dag.js";
import { container } from "../src/sdk/container.js";
import { serializeDag } from "../src/sdk/serialized.js";
import { containerExists, ensureDocker, removeContainers } from "./helpers/docker.js";
import { launchRequest, serializedTask } from "./helpers/docker-runner.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const IMAGE = "airlock/base:bookworm";
const stateDir = mkdtempSync(path.join(os.tmpdir(), "airlock-docker-container-"));
const config = {
  project: "airlock-test", stateDir, environmentsFolder: stateDir, projectDir: stateDir,
  docker: { socketPath: null, host: null, registry: null, baseImage: null },
};
let docker: Docker;
let backend: Backend;

const events = (r: LaunchRequest): TaskEvent[] =>
  readFileSync(r.eventsPath, "utf8").split("\n").filter(Boolean).map((l) => decodeEvent(l) as TaskEvent);
const rawLog = (r: LaunchRequest) => readFileSync(r.rawLogPath, "utf8");

/** A container task as the executor hands it over: args already rendered, privateEnv values among the masks. */
function request(id: string, args: Record<string, unknown>, extra: { network?: "none" | "host" } = {}): LaunchRequest {
  const masks = Object.values((args.privateEnv as Record<string, string> | undefined) ?? {});
  return launchRequest(stateDir, { dagId: "docker_container", task: serializedTask(id, "container", { image: IMAGE, pull: "never", ...args }), masks, ...extra });
}

async function run(r: LaunchRequest) {
  const running = await backend.launch(r);
  const exit = await running.exited;
  return { exit, id: String(running.handle.containerId) };
}

describe("container operator on the docker backend", { timeout: 300_000 }, () => {
  beforeAll(() => {
    docker = ensureDocker();
    backend = createDockerBackend(config);
  });
  afterAll(async () => {
    await removeContainers(docker, `${LABELS.owner}=${ownerOf(config)}`);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("defines a validated task that runs on docker, refusing literal secrets", () => {
    const d = dag({ id: "c" }, () => {
      container({ id: "ok", image: "debian:bookworm-slim", command: ["echo", "hi"], privateEnv: { TOKEN: "{{ var.value.token }}" }, autoRemove: "success" });
    });
    const t = serializeDag(d).tasks.ok;
    expect(t).toMatchObject({ kind: "container", backend: "docker", args: { image: "debian:bookworm-slim", autoRemove: "success" } });
    expect(t?.templateFields).toContain("privateEnv");
    expect(() => dag({ id: "c2" }, () => { container({ id: "bad", image: "x", privateEnv: { TOKEN: "hunter2" } }); })).toThrow(/privateEnv.TOKEN must be a template/);
    expect(() => dag({ id: "c3" }, () => { container({ id: "bad", image: "x", pull: "sometimes" as "never" }); })).toThrow(/pull must be/);
    expect(() => dag({ id: "c4" }, () => { container({ id: "bad", image: "x", mounts: [{ source: "rel", target: "/x" }] }); })).toThrow(/mounts\[0\].source/);
  });

  it("splits command strings like a shell, without one", () => {
    expect(splitWords(`sh -c 'echo "a b"; echo c' x\\ y "q\\"d"`)).toEqual(["sh", "-c", `echo "a b"; echo c`, "x y", 'q"d']);
  });

  it("takes the XCom from the last stdout line, and removes the container (autoRemove force)", async () => {
    const r = request("last_line", { command: "sh -c 'echo first; echo {{not rendered here}}; echo last line'" });
    const { exit, id } = await run(r);
    expect(exit.code).toBe(0);
    expect(rawLog(r)).toContain("first\n");
    const ev = events(r);
    expect(ev.map((e) => e.type)).toEqual(["started", "result"]);
    expect(ev[1]).toMatchObject({ value: { inline: "last line" } });
    expect(await containerExists(docker, id)).toBe(false);
  });

  it("takes the XCom from /airlock/xcom/return.json, read before removal, even as another user", async () => {
    const r = request("xcom_file", { command: ["sh", "-c", `echo '{"rows": 3, "ok": true}' > /airlock/xcom/return.json; echo not this`], user: "65534:65534" });
    const { exit } = await run(r);
    expect(exit.code).toBe(0);
    expect(events(r).at(-1)).toMatchObject({ type: "result", value: { inline: { rows: 3, ok: true } } });
  });

  it("keeps secrets out of docker inspect, the image layer and the log, while the process gets them", async () => {
    const secret = "s3cr3t-Value-'quoted'";
    const r = request("secrets", {
      // The value is proved by its hash, so the secret is nowhere in the task's own spec either.
      command: ["sh", "-c", `echo "length=\${#TOKEN}"; echo "token=$TOKEN"; printf %s "$TOKEN" | sha256sum; echo "plain=$PLAIN"`],
      env: { PLAIN: "visible" }, privateEnv: { TOKEN: secret }, autoRemove: "never",
    });
    const { exit, id } = await run(r);
    expect(exit.code).toBe(0);
    const c = docker.getContainer(id);
    const inspect = JSON.stringify(await c.inspect());
    expect(inspect).not.toContain("s3cr3t");
    expect(inspect).toContain("PLAIN=visible");
    // Committing the container shows what its layer holds: at most an empty mount point, never the values.
    const committed = `airlock-test/secrets-check:${r.key.runId.replace(/[^a-z0-9]/g, "")}`;
    const [repo, tag] = committed.split(":") as [string, string];
    await c.commit({ repo, tag });
    try {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on("data", (b: Buffer) => chunks.push(b));
      await docker.run(committed, ["sh", "-c", "cat /airlock/secrets/env 2>/dev/null; grep -rl s3cr3t / --exclude-dir=proc --exclude-dir=sys 2>/dev/null; echo end"], out,
        { Entrypoint: [], Labels: { [LABELS.owner]: ownerOf(config) }, HostConfig: { AutoRemove: true, NetworkMode: "none" } });
      expect(Buffer.concat(chunks).toString().trim()).toBe("end");
    } finally {
      await docker.getImage(committed).remove({ force: true }).catch(() => undefined);
    }
    const log = rawLog(r);
    expect(log).toContain(`length=${secret.length}\n`);
    expect(log).toContain("token=***\n");
    expect(log).toContain(`${createHash("sha256").update(secret).digest("hex")}  -\n`);
    expect(log).not.toContain("s3cr3t");
    // The host file that carried it is gone with the try.
    expect(() => readFileSync(path.join(r.tryDir, "secrets", "env"))).toThrow();
    await c.remove({ force: true });
  });

  it("fails with the exit code and log tail; autoRemove success keeps a failed container, never keeps all", async () => {
    const failed = request("fails", { command: ["sh", "-c", "echo something broke >&2; exit 3"], autoRemove: "success" });
    const a = await run(failed);
    expect(a.exit.code).toBe(3);
    const err = events(failed).at(-1);
    expect(err).toMatchObject({ type: "error", error: { type: "ContainerExited" } });
    expect((err as { error: { message: string } }).error.message).toContain("exited with code 3");
    expect((err as { error: { message: string } }).error.message).toContain("something broke");
    expect(await containerExists(docker, a.id)).toBe(true);

    const succeeded = request("succeeds", { command: ["true"], autoRemove: "success" });
    const b = await run(succeeded);
    expect(b.exit.code).toBe(0);
    expect(await containerExists(docker, b.id)).toBe(false);

    const kept = request("kept", { command: ["true"], autoRemove: "never" });
    const c = await run(kept);
    expect(await containerExists(docker, c.id)).toBe(true);
    await docker.getContainer(a.id).remove({ force: true });
    await docker.getContainer(c.id).remove({ force: true });
  });

  it("applies workingDir, mounts, shm size and limits", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-mount-"));
    try {
      const r = request("settings", {
        command: ["sh", "-c", "pwd; cat /data/in.txt 2>/dev/null || echo no-file; df -k /dev/shm | tail -1 | awk '{print $2}'"],
        workingDir: "/data", mounts: [{ source: dir, target: "/data", readOnly: true }], shmSize: "128Mi", memory: "256Mi", cpus: 0.5,
      });
      const running = await backend.launch(r);
      const hc = (await docker.getContainer(String(running.handle.containerId)).inspect()).HostConfig;
      expect(hc).toMatchObject({ Memory: 256 * 1024 * 1024, NanoCpus: 5e8, ShmSize: 128 * 1024 * 1024, NetworkMode: "none" });
      await running.exited;
      expect(rawLog(r)).toContain("/data\nno-file\n131072\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails clearly for a missing image under pull never", async () => {
    const r = request("missing", { image: "airlock-test/does-not-exist:1" });
    await expect(backend.launch(r)).rejects.toThrow(/not on the Docker host and the task's pull policy is "never"/);
  });

  it("adopts a container task after the orchestrator was killed -9, and ends it exactly once", async () => {
    const r = request("adopted", { command: ["sh", "-c", "for i in 1 2 3 4 5 6; do echo l$i; sleep 0.4; done; echo the-result"] });
    const requestFile = path.join(r.tryDir, "request.json");
    writeFileSync(requestFile, JSON.stringify(r));
    const child = spawn(process.execPath, ["--import", "tsx", path.join(HERE, "helpers", "docker-launch-child.ts"), requestFile, stateDir, stateDir], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => { out += b.toString(); });
    for (let i = 0; !out.includes("\n") || !rawLog(r).includes("l2\n"); i++) {
      if (i > 600) throw new Error("the child never started the container");
      await new Promise((res) => setTimeout(res, 100));
    }
    child.kill("SIGKILL");
    await new Promise((res) => child.once("exit", res));
    const handle = JSON.parse(out.split("\n")[0] as string) as { backend: "docker"; containerId: string };
    const adopted = await createDockerBackend(config).adopt(handle, r);
    const exit = await adopted!.exited;
    expect(exit.code).toBe(0);
    expect(rawLog(r).split("\n").filter(Boolean)).toEqual(["l1", "l2", "l3", "l4", "l5", "l6", "the-result"]);
    expect(events(r).map((e) => e.type)).toEqual(["started", "result"]);
    expect(events(r).at(-1)).toMatchObject({ value: { inline: "the-result" } });
    expect(await containerExists(docker, handle.containerId)).toBe(false);
  });

  it("reaps containers whose try is no longer running, and only those", async () => {
    const orphan = request("orphan", { command: ["sleep", "300"] });
    const live = request("live", { command: ["sleep", "300"] });
    const a = await backend.launch(orphan);
    const b = await backend.launch(live);
    const store = { getTry: async (k: { taskId: string }) => ({ state: k.taskId === "live" ? "running" : "failed" }) as never };
    const removed = await reapOrphans(store, config, docker);
    expect(removed).toContain(String(a.handle.containerId));
    expect(removed).not.toContain(String(b.handle.containerId));
    expect(await containerExists(docker, String(b.handle.containerId))).toBe(true);
    await a.exited;
    await b.kill("test over");
  });
});
