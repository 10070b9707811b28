/**
 * Side by side with Apache Airflow (`npm run bench -- --peers airflow`; never part of the test suite). Airflow comes
 * from PyPI into a cached venv (scripts/setup-airflow.sh) and runs as `airflow standalone` on SQLite; Airlock runs
 * as `airlock standalone` on SQLite. Each gets the same three DAGs of tiny Python/TypeScript tasks (one task, a
 * 10-task chain, 100 independent tasks), triggered and polled through its own REST API with its own auth: Airflow 3's
 * REST API v2 with a JWT from /auth/token, Airlock's /api/v1 with a bearer token. Runs alternate between the two.
 * Both get 16 task slots (Airflow's core.parallelism, Airlock's executor.parallelism); Airflow's SQLite connections
 * wait up to 120 s for a lock instead of 5 s, without which its scheduler dies of "database is locked" on a loaded
 * machine during the 100-task DAG, and its tasks wait as long for the API server (workers.execution_api_timeout,
 * 5 s by default). Every process carrying Airflow's home folder is ended afterwards.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { percentile, ROOT, tempProject, type BenchRow } from "../lib.js";
import { groupRssMiB, processesWithEnv, stopGroup } from "../processes.js";

const ROUNDS = Number(process.env.AIRLOCK_BENCH_PEER_ROUNDS ?? 3);
/** Task slots of each system: Airlock's tempProject sets executor.parallelism 16; Airflow gets core.parallelism 16. */
const PARALLELISM = 16;
const SQLITE_BUSY_TIMEOUT_S = 120;
const SCENARIOS = [
  { id: "one", label: "one-task DAG", tasks: 1, chain: true },
  { id: "chain10", label: "10-task chain", tasks: 10, chain: true },
  { id: "wide100", label: "100 independent tasks", tasks: 100, chain: false },
] as const;

/** A system under test: how to trigger a run and read its state through its REST API. */
interface Peer {
  name: string;
  child: ChildProcess;
  trigger(dagId: string): Promise<string>;
  state(dagId: string, runId: string): Promise<string>;
  ready(dagIds: string[]): Promise<void>;
  /** Throws when a part the runs need has died (Airflow's standalone does not restart its scheduler). */
  check?(): Promise<void>;
  /** Why a run failed, from the system's own logs (what the API alone does not say). */
  explain?(dagId: string, runId: string): string;
}

const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const s = net.createServer();
  s.once("error", reject);
  s.listen(0, "127.0.0.1", () => {
    const port = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(port));
  });
});

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs: number, child?: ChildProcess): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}`);
    const v = await check().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function json(res: Response, what: string): Promise<any> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const airflowDag = (s: (typeof SCENARIOS)[number]) => `from datetime import datetime
from airflow.sdk import dag, task

@dag(dag_id="${s.id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def work(i):
        return i
    prev = None
    for i in range(${s.tasks}):
        t = work.override(task_id=f"t{i}")(i)
        ${s.chain ? "if prev is not None:\n            prev >> t\n        prev = t" : "pass"}

build()
`;

const airlockDag = (s: (typeof SCENARIOS)[number]) => `import { dag, fn } from "airlock";
export default dag({ id: "${s.id}" }, () => {
  let prev = null;
  for (let i = 0; i < ${s.tasks}; i++) {
    const t = fn({ id: "t" + i, run: async () => i });
    ${s.chain ? "if (prev) prev.then(t);\n    prev = t;" : ""}
  }
});`;

async function startAirflow(home: string, venv: string): Promise<Peer> {
  const port = await freePort();
  const user = "bench";
  const password = randomBytes(12).toString("hex");
  mkdirSync(path.join(home, "dags"), { recursive: true });
  for (const s of SCENARIOS) writeFileSync(path.join(home, "dags", `${s.id}.py`), airflowDag(s));
  writeFileSync(path.join(home, "passwords.json"), JSON.stringify({ [user]: password }));
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env, PATH: `${path.join(venv, "bin")}:${process.env.PATH}`, AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: path.join(home, "dags"), AIRFLOW__CORE__LOAD_EXAMPLES: "False",
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: "False", AIRFLOW__API__HOST: "127.0.0.1", AIRFLOW__API__PORT: String(port),
    AIRFLOW__API__BASE_URL: base, AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${base}/execution/`,
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: `${user}:admin`, AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: path.join(home, "passwords.json"),
    // As many task slots as Airlock's executor has (tempProject: executor.parallelism 16). Airflow's default of 32
    // keeps 32 LocalExecutor workers (~145 MiB each) alive although a DAG run may only use 16 at once.
    AIRFLOW__CORE__PARALLELISM: String(PARALLELISM),
    // SQLite's busy timeout (Python's default: 5 s). Every task of a 100-task DAG writes through the API server while
    // the scheduler writes too; on a loaded machine a writer waits longer than 5 s, and a "database is locked" error
    // inside the scheduler loop ends the scheduler, which `airflow standalone` does not restart.
    PYTHONPATH: [home, process.env.PYTHONPATH].filter(Boolean).join(":"),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS: "airlock_bench_sqlite.CONNECT_ARGS",
    // A task's calls to the API server (start, heartbeat, success) time out after 5 s by default; the API server then
    // waits on the same lock, so under load tasks fail with "API_SERVER_ERROR … ReadTimeout" although they ran.
    // Airflow's documentation says to raise it under high load.
    AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT: String(SQLITE_BUSY_TIMEOUT_S),
  };
  writeFileSync(path.join(home, "airlock_bench_sqlite.py"), `CONNECT_ARGS = {"timeout": ${SQLITE_BUSY_TIMEOUT_S}}\n`);
  // Its own output goes to a file: the reason when a part of it dies.
  const logFile = path.join(home, "standalone.log");
  const out = openSync(logFile, "a");
  const child = spawn(path.join(venv, "bin", "airflow"), ["standalone"], { cwd: home, env, detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  // The API server's access log would bury the scheduler's last words.
  const tail = (prefix = "") => readFileSync(logFile, "utf8").split("\n").filter((l) => !l.includes("[http.access]") && l.startsWith(prefix)).slice(-40).join("\n");
  let lastCheck = 0;
  let token = "";
  const auth = async () => {
    token = (await json(await fetch(`${base}/auth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: user, password }) }), "POST /auth/token")).access_token as string;
    return token;
  };
  const headers = () => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
  return {
    name: "Airflow", child,
    ready: async (dagIds) => {
      await until("Airflow's API to answer", async () => (await fetch(`${base}/api/v2/monitor/health`)).ok, 600_000, child);
      await until("an Airflow token", auth, 120_000, child);
      for (const id of dagIds) {
        await until(`Airflow to parse DAG ${id}`, async () => {
          const d = await json(await fetch(`${base}/api/v2/dags/${id}`, { headers: headers() }), `GET dag ${id}`);
          if (d.is_paused) await json(await fetch(`${base}/api/v2/dags/${id}`, { method: "PATCH", headers: headers(), body: JSON.stringify({ is_paused: false }) }), `unpause ${id}`);
          return true;
        }, 600_000, child);
      }
    },
    explain: (dagId, runId) => {
      const dir = path.join(home, "logs", `dag_id=${dagId}`, `run_id=${runId}`);
      let tasks: string[] = [];
      try {
        tasks = readdirSync(dir);
      } catch {
        return `no task logs under ${dir}; the end of the standalone's output:\n${tail()}`;
      }
      return tasks.map((t) => {
        try {
          const attempts = readdirSync(path.join(dir, t));
          return `${t}: ${readFileSync(path.join(dir, t, attempts.at(-1) as string), "utf8").split("\n").slice(-8).join("\n")}`;
        } catch {
          return `${t}: (no log)`;
        }
      }).join("\n").slice(-4000) + `\nthe end of the standalone's output:\n${tail().slice(-3000)}`;
    },
    check: async () => {
      if (Date.now() - lastCheck < 10_000) return;
      lastCheck = Date.now();
      // The scheduler process itself: gone or a zombie (standalone does not reap or restart it) ends the wait at once.
      const scheduler = processesWithEnv(`AIRFLOW_HOME=${home}`).find((p) => p.argv.slice(0, 3).includes("scheduler"));
      if (!scheduler || scheduler.zombie) {
        throw new Error(`Airflow's scheduler process ${scheduler ? `${scheduler.pid} exited (zombie)` : "is gone"}; its last output:\n${tail("scheduler")}`);
      }
      const health = await json(await fetch(`${base}/api/v2/monitor/health`), "GET health").catch(() => null);
      if (!health) return;
      const beat = Date.parse(health.scheduler?.latest_scheduler_heartbeat ?? "");
      if (health.scheduler?.status !== "healthy" && Date.now() - beat > 120_000) {
        throw new Error(`Airflow's scheduler stopped (last heartbeat ${health.scheduler?.latest_scheduler_heartbeat}); its last output:\n${tail("scheduler")}`);
      }
    },
    trigger: async (dagId) => (await json(await fetch(`${base}/api/v2/dags/${dagId}/dagRuns`, { method: "POST", headers: headers(), body: JSON.stringify({ logical_date: null }) }), `trigger ${dagId}`)).dag_run_id as string,
    state: async (dagId, runId) => (await json(await fetch(`${base}/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`, { headers: headers() }), `run ${runId}`)).state as string,
  };
}

async function startAirlock(): Promise<Peer & { dir: string }> {
  const dir = tempProject(Object.fromEntries(SCENARIOS.map((s) => [`${s.id}.ts`, airlockDag(s)])));
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "airlock.js"), "standalone", "--port", String(port)], {
    cwd: dir, env: { ...process.env, AIRLOCK__API__TOKEN: token }, detached: true, stdio: ["ignore", "ignore", "ignore"],
  });
  const base = `http://127.0.0.1:${port}/api/v1`;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  return {
    name: "Airlock", child, dir,
    ready: async (dagIds) => {
      for (const id of dagIds) await until(`Airlock to parse DAG ${id}`, async () => (await fetch(`${base}/dags/${id}`, { headers })).ok, 120_000, child);
    },
    trigger: async (dagId) => (await json(await fetch(`${base}/dags/${dagId}/runs`, { method: "POST", headers, body: "{}" }), `trigger ${dagId}`)).runId as string,
    state: async (dagId, runId) => (await json(await fetch(`${base}/dags/${dagId}/runs/${encodeURIComponent(runId)}`, { headers }), `run ${runId}`)).state as string,
  };
}

/** Trigger → terminal state through the REST API, in ms; throws unless the run succeeded. */
async function timeRun(p: Peer, dagId: string): Promise<number> {
  const t = performance.now();
  const runId = await p.trigger(dagId);
  const deadline = Date.now() + 900_000;
  for (;;) {
    // A dead scheduler ends the wait at once rather than at the deadline; passing network errors do not.
    await p.check?.();
    const state = await p.state(dagId, runId).catch(() => null);
    if (state === "success") return performance.now() - t;
    if (state === "failed") throw new Error(`${p.name}: run ${runId} of ${dagId} failed; ${p.explain?.(dagId, runId) ?? ""}`);
    if (Date.now() > deadline || p.child.exitCode !== null) throw new Error(`${p.name}: run ${runId} of ${dagId} did not end (last state ${state})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the side-by-side comparison. */
export async function run(): Promise<BenchRow[]> {
  process.stderr.write("bench: airflow peer — installing Airflow when needed (scripts/setup-airflow.sh)…\n");
  const venv = execFileSync("bash", [path.join(ROOT, "scripts", "setup-airflow.sh")], { stdio: ["ignore", "pipe", "inherit"] }).toString().trim().split("\n").pop() ?? "";
  const version = execFileSync(path.join(venv, "bin", "python"), ["-c", "import airflow; print(airflow.__version__)"]).toString().trim();
  const home = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-airflow-"));
  const ids = SCENARIOS.map((s) => s.id);
  const rows: BenchRow[] = [];
  const peers: Peer[] = [];
  let airlockDir = "";
  let failed = true;
  try {
    // Start-up: from spawn to every DAG visible through the API (Airflow also migrates its database on first start).
    const t0 = performance.now();
    const airflow = await startAirflow(home, venv);
    peers.push(airflow);
    await airflow.ready(ids);
    const airflowStart = performance.now() - t0;
    const t1 = performance.now();
    const airlock = await startAirlock();
    airlockDir = airlock.dir;
    peers.push(airlock);
    await airlock.ready(ids);
    const airlockStart = performance.now() - t1;
    rows.push({ suite: "peers", name: `start → DAGs visible: Airlock`, value: airlockStart, unit: "ms" });
    rows.push({ suite: "peers", name: `start → DAGs visible: Airflow ${version}`, value: airflowStart, unit: "ms" });
    // One warm-up run each (first-run caches: Airlock's DAG bundle, Airflow's serialized DAG fetch).
    for (const p of [airlock, airflow]) await timeRun(p, "one");
    const samples = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of SCENARIOS) {
        const order = round % 2 === 0 ? [airlock, airflow] : [airflow, airlock];
        for (const p of order) {
          const key = `${p.name}/${s.id}`;
          const ms = await timeRun(p, s.id);
          samples.set(key, [...(samples.get(key) ?? []), ms]);
          process.stderr.write(`bench: ${key} round ${round + 1}: ${ms.toFixed(0)} ms\n`);
        }
      }
    }
    for (const s of SCENARIOS) {
      const a = percentile(samples.get(`Airlock/${s.id}`) ?? [], 50);
      const f = percentile(samples.get(`Airflow/${s.id}`) ?? [], 50);
      rows.push({ suite: "peers", name: `${s.label}, trigger→success via REST, p50 of ${ROUNDS}: Airlock`, value: a, unit: "ms" });
      rows.push({ suite: "peers", name: `${s.label}, trigger→success via REST, p50 of ${ROUNDS}: Airflow ${version}`, value: f, unit: "ms" });
      rows.push({ suite: "peers", name: `${s.label}: Airflow / Airlock`, value: f / a, unit: "×", goal: "> 1 (Airlock faster)" });
    }
    rows.push({ suite: "peers", name: "memory after the runs (process group RSS): Airlock", value: groupRssMiB(airlock.child.pid as number), unit: "MiB" });
    rows.push({ suite: "peers", name: `memory after the runs (process group RSS): Airflow ${version}`, value: groupRssMiB(airflow.child.pid as number), unit: "MiB" });
    rows.push({ suite: "peers", name: `start → DAGs visible: Airflow / Airlock`, value: airflowStart / airlockStart, unit: "×" });
    failed = false;
  } finally {
    for (const p of peers) await stopGroup(p.child, p.name === "Airflow" ? `AIRFLOW_HOME=${home}` : undefined);
    // After a failure Airflow's home stays: its scheduler, dag-processor and task logs say why.
    if (failed) process.stderr.write(`bench: airflow peer failed; Airflow's home with its logs is kept at ${home}\n`);
    else rmSync(home, { recursive: true, force: true });
    if (airlockDir) rmSync(airlockDir, { recursive: true, force: true });
  }
  return rows;
}
