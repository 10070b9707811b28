/**
 * The CLI against a remote server (issue 5, point 4): `dags list`, `dags trigger --wait`, `tasks states` and
 * `tasks logs --follow` work with --api-url/--token (or AIRLOCK__CLI__*) from a folder that has no store at all.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupProjects, createProject, type Project, type Standalone } from "./helpers/project.js";

const TOKEN = "remote-admin-token-123";

const DAG = `import { dag, bash } from "airlock";
export default dag({ id: "remote_demo", params: { who: "nobody" } }, () => {
  const a = bash({ id: "say", command: "for i in 1 2 3; do echo line-$i {{ params.who }}; sleep 0.3; done; echo done" });
  a.then(bash({ id: "after", command: "echo after" }));
});
`;

describe("CLI over the API", () => {
  let server: Project;
  let client: Project;
  let standalone: Standalone;

  beforeAll(async () => {
    server = createProject({ dags: { "remote.ts": DAG }, env: { AIRLOCK__API__TOKEN: TOKEN } });
    standalone = await server.startStandalone();
    // The client's own folder has no DAGs and never opens a store.
    client = createProject({ dags: {} });
  });

  afterAll(async () => {
    await standalone?.stop();
    await cleanupProjects();
  });

  it("lists DAGs, triggers with --wait, shows states and follows a log through the server", async () => {
    const remote = ["--api-url", standalone.url];
    const env = { AIRLOCK__CLI__TOKEN: TOKEN };

    const list = await client.cliJson<{ items: Array<{ dagId: string }> }>(["dags", "list", "--json", ...remote], { env });
    expect(list.code).toBe(0);
    expect(list.json.items.map((d) => d.dagId)).toContain("remote_demo");

    const noToken = await client.cli(["dags", "list", "--json", ...remote]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/unauthorized|token/i);

    const trigger = await client.cliJson<{ runId: string; state: string }>(["dags", "trigger", "remote_demo", "--conf", '{"who":"remote"}', "--json", ...remote], { env });
    expect(trigger.code).toBe(0);
    const runId = trigger.json.runId;

    const follow = client.spawnCli(["tasks", "logs", "remote_demo", runId, "say", "--follow", ...remote], { env });
    await follow.waitFor(/line-1 remote/, 60_000);
    const followed = await follow.done;
    expect(followed.code).toBe(0);
    expect(followed.stdout).toMatch(/line-1 remote[\s\S]*line-2 remote[\s\S]*line-3 remote[\s\S]*done/);

    const waited = await client.cliJson<{ runId: string; state: string; tasks: Array<{ taskId: string; state: string; tryNumber: number; isolation: string }> }>(
      ["dags", "trigger", "remote_demo", "--wait", "--json", ...remote], { env });
    expect(waited.code).toBe(0);
    expect(waited.json.state).toBe("success");
    expect(waited.json.tasks.map((t) => [t.taskId, t.state])).toEqual([["say", "success"], ["after", "success"]]);

    const states = await client.cliJson<{ state: string; tasks: Array<{ taskId: string; state: string; isolation: string }> }>(["tasks", "states", "remote_demo", runId, "--json", ...remote], { env });
    expect(states.code).toBe(0);
    expect(states.json.tasks.find((t) => t.taskId === "say")).toMatchObject({ state: "success", isolation: "process" });

    const unknown = await client.cli(["tasks", "states", "remote_demo", "no-such-run", "--json", ...remote], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/not found/i);

    expect(existsSync(path.join(client.dir, ".airlock", "airlock.db"))).toBe(false);
  });
});
