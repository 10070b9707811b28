/**
 * A rendered secret in the container operator's command never reaches `docker inspect` or a process list: a shell
 * script holding it is delivered through a private mounted file (the spec names only the file), and a secret
 * passed as a program's argument or in the plain env is refused with the field and the fix.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerBackend } from "../src/backends/docker/index.js";
import { LABELS, ownerOf } from "../src/backends/docker/spec.js";
import type { Backend, LaunchRequest } from "../src/backends/types.js";
import { decide, readEvents } from "../src/executor/outcome.js";
import { ensureDocker, removeContainers } from "./helpers/docker.js";
import { launchRequest, serializedTask } from "./helpers/docker-runner.js";
import { processesHolding } from "./helpers/processes.js";

const IMAGE = "airlock/base:bookworm";
const SECRET = "pw-inspect-Kx93-secret";
const stateDir = mkdtempSync(path.join(os.tmpdir(), "airlock-container-secrets-"));
const config = {
  project: "airlock-test", stateDir, environmentsFolder: stateDir, projectDir: stateDir,
  docker: { socketPath: null, host: null, registry: null, baseImage: null },
};
let docker: Docker;
let backend: Backend;

/** A container try as the executor hands it over: args rendered, the variable's secret value among the masks. */
const request = (id: string, args: Record<string, unknown>): LaunchRequest =>
  launchRequest(stateDir, { dagId: "container_secrets", task: serializedTask(id, "container", { image: IMAGE, pull: "never", ...args }), masks: [SECRET] });

describe("secrets in a container's command", { timeout: 300_000 }, () => {
  beforeAll(() => {
    docker = ensureDocker();
    backend = createDockerBackend(config);
  });
  afterAll(async () => {
    await removeContainers(docker, `${LABELS.owner}=${ownerOf(config)}`);
    rmSync(stateDir, { recursive: true, force: true });
  });

  for (const [name, args] of [
    ["array", { command: ["sh", "-c", `sleep 3; printf %s '${SECRET}' | wc -c; echo "$1-$TOKEN"`, "prog", "one"], privateEnv: { TOKEN: SECRET } }],
    ["string", { entrypoint: "/bin/bash", command: `-c 'sleep 3; printf %s "${SECRET}" | wc -c; echo "$1-none"' prog one` }],
  ] as const) {
    it(`runs a shell script holding a secret (${name} form) with nothing secret in docker inspect or any argv`, async () => {
      const r = request(`script_${name}`, { ...args, autoRemove: "never" });
      const running = await backend.launch(r);
      const inspected = await docker.getContainer(String(running.handle.containerId)).inspect();
      let scans = 0;
      let done = false;
      void running.exited.then(() => { done = true; });
      while (!done) {
        expect(processesHolding(SECRET)).toEqual([]);
        scans++;
        await new Promise((res) => setTimeout(res, 100));
      }
      const exit = await running.exited;
      expect(JSON.stringify(inspected)).not.toContain(SECRET);
      expect([...(inspected.Config.Entrypoint as string[]), ...inspected.Config.Cmd]).toContain("/airlock/secrets/command");
      expect(scans).toBeGreaterThan(10);
      const log = readFileSync(r.rawLogPath, "utf8");
      expect(exit.code, log).toBe(0);
      // The script ran with its secret and its positional parameters intact.
      expect(log).toContain(`${SECRET.length}\n`);
      expect(log).toContain(name === "array" ? "one-***" : "one-none");
      expect(decide({ events: readEvents(r.eventsPath), exit, scratchDir: r.scratchDir, killedFor: null }).kind).toBe("success");
      // The private file is gone with the try.
      expect(readdirSync(r.tryDir)).not.toContain("secrets");
    });
  }

  it("refuses a secret passed as a program's argument, naming command and privateEnv", async () => {
    const r = request("argument", { command: ["echo", `--password=${SECRET}`] });
    const err = await backend.launch(r).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/command passes a secret .* argument of "echo".*privateEnv/);
    expect(err?.message).not.toContain(SECRET);
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABELS.task}=argument`] } })).toEqual([]);
  });

  it("refuses a secret in the plain env, naming env.NAME and privateEnv", async () => {
    const r = request("plain_env", { command: ["true"], env: { DB_PASSWORD: SECRET } });
    const err = await backend.launch(r).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/env\.DB_PASSWORD holds a secret.*move it to privateEnv/);
  });
});
