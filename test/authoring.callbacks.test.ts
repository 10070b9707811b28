/**
 * Callbacks and alerts through `airlock dags test`: notifiers against a real HTTP receiver and a real SMTP server on
 * loopback, templated with the task's context; function callbacks run in their own process; onRetry, onFailure,
 * onSuccess on tasks and the DAG, onSlaMiss with sla; a failing callback is logged in the task's log and changes no
 * state.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, waitUntil, type Project } from "./helpers/project.js";
import { startSmtpReceiver, type SmtpReceiver } from "./helpers/smtp.js";

const ALERTS = `import { bash, dag, notify } from "airlock";
export default dag({
  id: "alerts", params: { fail: false },
  onFailure: notify.webhook({ connection: "hooks", path: "/dag", body: { text: "{{ dag.id }} failed on {{ ds }}: {{ exception }}" } }),
  onSuccess: notify.email({ connection: "mail", to: "ops@example.com", subject: "{{ dag.id }} ok", body: "run {{ run_id }} succeeded" }),
}, () => {
  const flaky = bash({
    id: "flaky", retries: 1, retryDelay: 0,
    command: "if [ '{{ params.fail }}' = 'true' ]; then echo 'broken input' >&2; exit 3; fi; echo fine",
    onRetry: notify.webhook({ connection: "hooks", path: "/retry", body: "retry {{ ti.task_id }} after try {{ try_number }}: {{ exception }}" }),
    onFailure: [
      notify.email({ connection: "mail", to: ["a@example.com", "b@example.com"], subject: "{{ ti.task_id }} failed", body: "{{ exception }}\\n.a line with a dot" }),
      (ctx) => { console.log("fn callback " + ctx.event + " " + (ctx.error && ctx.error.type) + " in pid " + process.pid + " for " + ctx.taskId); },
    ],
    onSuccess: (ctx) => { console.log("fn callback " + ctx.event + " of " + ctx.taskId + " on " + ctx.ds); },
  });
  const after = bash({ id: "after", command: "echo after",
    onSuccess: notify.webhook({ connection: "hooks", path: "/broken", body: "will get a 500" }) });
  flaky.then(after);
});
`;

const LATE = `import { bash, dag, notify } from "airlock";
export default dag({ id: "late" }, () => {
  bash({ id: "slow", command: "sleep 3; echo done", sla: "1s",
    onSlaMiss: notify.webhook({ connection: "hooks", path: "/sla", body: "{{ ti.task_id }} of {{ dag.id }} missed its sla ({{ event }})" }) });
  bash({ id: "quick", command: "echo quick", sla: "10m",
    onSlaMiss: notify.webhook({ connection: "hooks", path: "/sla", body: "{{ ti.task_id }} should not miss" }) });
});
`;

type Summary = { state: string; runId: string; tasks: Array<{ taskId: string; state: string; tryNumber: number }> };

let project: Project;
let http: Server;
let smtp: SmtpReceiver;
const hits: Array<{ url: string; body: string; auth: string | undefined }> = [];
let env: Record<string, string>;

beforeAll(async () => {
  http = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      hits.push({ url: req.url ?? "", body, auth: req.headers.authorization });
      res.writeHead(req.url === "/broken" ? 500 : 200);
      res.end(req.url === "/broken" ? "receiver is down" : "ok");
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  smtp = await startSmtpReceiver();
  env = {
    AIRLOCK_CONN_HOOKS: `http://hook:hook-secret-4411@127.0.0.1:${(http.address() as AddressInfo).port}`,
    AIRLOCK_CONN_MAIL: `smtp://alerts%40example.com:mail-secret-9921@127.0.0.1:${smtp.port}`,
  };
  project = createProject({ dags: { "alerts.ts": ALERTS, "late.ts": LATE } });
});
afterAll(async () => {
  await project?.cleanup();
  await smtp?.close();
  await new Promise((r) => http.close(r));
});

describe("callbacks", () => {
  it("onRetry and onFailure of a task, and the DAG's onFailure, with the failed task's context", async () => {
    hits.length = 0;
    smtp.messages.length = 0;
    const r = await project.cliJson<Summary>(["dags", "test", "alerts", "--json", "--conf", '{"fail": true}'], { env });
    expect(r.json.state).toBe("failed");
    expect(r.json.tasks.find((t) => t.taskId === "flaky")).toMatchObject({ state: "failed", tryNumber: 2 });
    const retry = hits.find((h) => h.url === "/retry");
    expect(retry?.body).toBe("retry flaky after try 1: BashCommandError: bash command failed with exit code 3");
    expect(retry?.auth).toBe(`Basic ${Buffer.from("hook:hook-secret-4411").toString("base64")}`);
    const dagHook = hits.find((h) => h.url === "/dag");
    expect(JSON.parse(dagHook?.body ?? "{}").text).toMatch(/^alerts failed on \d{4}-\d{2}-\d{2}: BashCommandError: bash command failed with exit code 3/);
    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0];
    expect(mail?.to).toEqual(["a@example.com", "b@example.com"]);
    expect(mail?.from).toBe("alerts@example.com");
    expect(mail?.auth).toBe("alerts@example.com:mail-secret-9921");
    expect(mail?.data).toContain("Subject: flaky failed");
    expect(mail?.data).toContain("\r\n.a line with a dot");
    const log = await project.cli(["tasks", "logs", "alerts", r.json.runId, "flaky", "--try", "2"], { env });
    const fnLine = /fn callback onFailure BashCommandError in pid (\d+) for flaky/.exec(log.stdout);
    expect(fnLine).not.toBeNull();
    expect(log.stdout).toContain("[airlock] onFailure callback 1 (email) done");
    expect(log.stdout).toContain("[airlock] onFailure callback 2 (function) done");
    expect(log.stdout).not.toContain("mail-secret-9921");
    const first = await project.cli(["tasks", "logs", "alerts", r.json.runId, "flaky", "--try", "1"], { env });
    expect(first.stdout).toContain("[airlock] onRetry callback (webhook) done");
  });

  it("onSuccess callbacks; a failing callback is logged and changes no state", async () => {
    hits.length = 0;
    smtp.messages.length = 0;
    const r = await project.cliJson<Summary>(["dags", "test", "alerts", "--json"], { env });
    expect(r.json.state).toBe("success");
    expect(r.json.tasks.map((t) => t.state)).toEqual(["success", "success"]);
    expect(hits.map((h) => h.url)).toEqual(["/broken"]);
    const after = await project.cli(["tasks", "logs", "alerts", r.json.runId, "after"], { env });
    expect(after.stdout).toContain("[airlock] onSuccess callback (webhook) failed: HttpOperatorError: POST");
    expect(after.stdout).toContain("returned 500");
    expect(after.stdout).toContain("(the task's state is unchanged)");
    const flaky = await project.cli(["tasks", "logs", "alerts", r.json.runId, "flaky"], { env });
    expect(flaky.stdout).toMatch(/fn callback onSuccess of flaky on \d{4}-\d{2}-\d{2}/);
    expect(smtp.messages.map((m) => /Subject: (.*)/.exec(m.data)?.[1])).toEqual(["alerts ok"]);
    expect(smtp.messages[0]?.data).toContain(`run ${r.json.runId} succeeded`);
  });

  it("under standalone the scheduler runs the DAG's callbacks too", async () => {
    hits.length = 0;
    const standalone = await project.startStandalone({ env });
    try {
      const r = await project.cliJson<Summary>(["dags", "trigger", "alerts", "--wait", "--json", "--conf", '{"fail": true}'], { env, timeoutMs: 90_000 });
      expect(r.json.state).toBe("failed");
      const hook = await waitUntil("the DAG's onFailure webhook", () => hits.find((h) => h.url === "/dag"), 60_000, 100);
      expect(JSON.parse(hook.body).text).toMatch(/^alerts failed on \d{4}-\d{2}-\d{2}: BashCommandError/);
    } finally {
      await standalone.stop();
    }
  });

  it("onSlaMiss is called once when a task has not succeeded sla after its run started; the task goes on", async () => {
    hits.length = 0;
    const r = await project.cliJson<Summary>(["dags", "test", "late", "--json"], { env });
    expect(r.json.state).toBe("success");
    expect(r.json.tasks.map((t) => t.state)).toEqual(["success", "success"]);
    expect(hits.filter((h) => h.url === "/sla").map((h) => h.body)).toEqual(["slow of late missed its sla (onSlaMiss)"]);
  });
});
