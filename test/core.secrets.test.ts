/**
 * Secrets: a connection password and a secret variable that tasks print, log, throw or return appear as *** in
 * `tasks logs`, in failed tasks' error messages, in `dags test` output and XComs, and in every CLI listing; at
 * rest they are encrypted (the SQLite files never hold the plain values); a task that reads a secret it was not
 * granted fails with an error that says how to grant it.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const PASSWORD = "pw-Tr0ub4dor-3xyz";
const TOKEN = "tok-correct-horse-battery";

const DAG = `import { bash, dag, fn } from "airlock";
export default dag({ id: "leaky" }, () => {
  // Templates grant what they name: the connection and the variable.
  bash({ id: "print", command: "echo 'password={{ conn.warehouse.password }}'; echo \\"token=$TOKEN\\"; echo {{ conn.warehouse.password }}", env: { TOKEN: "{{ var.value.api_token }}" } });
  fn({
    id: "throw",
    grants: { connections: ["warehouse"], variables: ["api_token"] },
    run: async (ctx) => {
      const c = ctx.connections.get("warehouse");
      ctx.log.info("connecting as", c.login, "with", c.password);
      console.error("stderr has it too:", ctx.variables.get("api_token"));
      throw new Error("login failed for " + c.login + ":" + c.password + " (token " + ctx.variables.get("api_token") + ")");
    },
  });
  fn({ id: "returns", grants: { variables: ["api_token"] }, run: async (ctx) => ({ token: ctx.variables.get("api_token"), note: "kept" }) });
  fn({ id: "ungranted", run: async (ctx) => ctx.connections.get("warehouse").password });
});
`;

let project: Project;
let run: { runId: string; state: string; tasks: Array<{ taskId: string; state: string; xcom: unknown }> };
let testOutput: string;

beforeAll(async () => {
  project = createProject({ dags: { "leaky.ts": DAG } });
  const conn = await project.cli(["connections", "add", "warehouse", "--uri-stdin"], { input: `postgres://etl:${PASSWORD}@db.internal:5432/analytics\n` });
  expect(conn.code).toBe(0);
  const variable = await project.cli(["variables", "set", "api_token", "--stdin"], { input: `${TOKEN}\n` });
  expect(variable.code).toBe(0);
  const text = await project.cli(["dags", "test", "leaky"]);
  testOutput = text.stdout + text.stderr;
  run = (await project.cliJson(["dags", "test", "leaky", "--json"])).json;
});
afterAll(async () => {
  await project.cleanup();
});

const plain = (text: string) => text.includes(PASSWORD) || text.includes(TOKEN);

describe("secrets", () => {
  it("are masked in every task log", async () => {
    for (const task of ["print", "throw", "returns"]) {
      const log = await project.cli(["tasks", "logs", "leaky", run.runId, task]);
      expect(log.code).toBe(0);
      expect(plain(log.stdout)).toBe(false);
      if (task === "print") expect(log.stdout).toMatch(/password=\*\*\*\ntoken=\*\*\*\n\*\*\*\n/);
      if (task === "throw") {
        expect(log.stdout).toContain("INFO connecting as etl with ***");
        expect(log.stdout).toContain("stderr has it too: ***");
        expect(log.stdout).toContain("failed: Error: login failed for etl:*** (token ***)");
      }
    }
  });

  it("are masked in dags test output, XComs and the error of the failed task", async () => {
    expect(plain(testOutput)).toBe(false);
    expect(testOutput).toContain("throw | [airlock] try 1 failed: Error: login failed for etl:*** (token ***)");
    expect(run.tasks.find((t) => t.taskId === "print")?.xcom).toBe("***");
    expect(run.tasks.find((t) => t.taskId === "returns")?.xcom).toEqual({ token: "***", note: "kept" });
    const states = await project.cli(["tasks", "states", "leaky", run.runId, "--json"]);
    expect(plain(states.stdout)).toBe(false);
  });

  it("are never printed by connections and variables listings", async () => {
    for (const args of [["connections", "list"], ["connections", "list", "--json"], ["variables", "list"], ["variables", "list", "--json"]]) {
      const r = await project.cli(args);
      expect(r.code).toBe(0);
      expect(plain(r.stdout + r.stderr)).toBe(false);
    }
    const list = await project.cliJson(["connections", "list", "--json"]);
    expect(list.json.items).toEqual([expect.objectContaining({ connId: "warehouse", host: "db.internal", login: "etl", hasPassword: true, source: "store" })]);
  });

  it("are encrypted at rest: no file of the store holds the plain values", () => {
    const files = readdirSync(project.stateDir).filter((f) => f.startsWith("airlock.db")).map((f) => path.join(project.stateDir, f));
    expect(files).toContain(project.dbPath);
    for (const f of files) {
      const bytes = readFileSync(f);
      expect(bytes.includes(PASSWORD), f).toBe(false);
      expect(bytes.includes(TOKEN), f).toBe(false);
      // The login and host are not secrets and are stored as they are: the search itself works.
      if (f === project.dbPath) expect(bytes.includes("db.internal")).toBe(true);
    }
  });

  it("an explicit read of the value is for admins only and works", async () => {
    const r = await project.cli(["variables", "get", "api_token"]);
    expect(r.stdout.trim()).toBe(TOKEN);
  });

  it("a secret that was not granted fails the task with how to grant it", async () => {
    const t = run.tasks.find((x) => x.taskId === "ungranted");
    expect(t?.state).toBe("failed");
    const log = await project.cli(["tasks", "logs", "leaky", run.runId, "ungranted"]);
    expect(log.stdout).toContain('NotGrantedError: connection "warehouse" was not granted to task "ungranted" of DAG "leaky": add grants: { connections: ["warehouse"] } to the task');
    expect(plain(log.stdout)).toBe(false);
  });
});
