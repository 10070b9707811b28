/**
 * A rendered secret never reaches a process list: the bash operator hands its script to bash through a pipe, not
 * argv (checked on the process backend by scanning every /proc/<pid>/cmdline while the command runs; the docker
 * backend's test does the same with `docker inspect`). Store URLs in messages hide the whole password, `@` included.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { redactUrl } from "../src/config/config.js";
import { createProject, type Project } from "./helpers/project.js";
import { processesHolding } from "./helpers/processes.js";

const SECRET = "pw-argv-Zq81-secret";

const DAG = `import { bash, dag } from "airlock";
export default dag({ id: "argv" }, () => {
  bash({ id: "hold", command: "echo started; sleep 4; echo '{{ var.value.db_password }}' | wc -c" });
});
`;

let project: Project;

beforeAll(async () => {
  project = createProject({ dags: { "argv.ts": DAG } });
  expect((await project.cli(["variables", "set", "db_password", "--stdin"], { input: `${SECRET}\n` })).code).toBe(0);
});
afterAll(async () => {
  await project.cleanup();
});

it("a templated secret is not in the argv of any process while the bash task runs", async () => {
  const p = project.spawnCli(["dags", "test", "argv"]);
  // From the start to the end of the run, which includes the 4 s the command holds the secret.
  let scans = 0;
  while (p.child.exitCode === null) {
    expect(processesHolding(SECRET)).toEqual([]);
    scans++;
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await p.done;
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toContain("started");
  expect(scans).toBeGreaterThan(20);
});

it("store URL redaction hides a password that contains @", () => {
  const url = "postgres://etl:p@ss@word-tail@db.internal:5432/airlock";
  const shown = redactUrl(url);
  expect(shown).toBe("postgres://etl:***@db.internal:5432/airlock");
  expect(shown).not.toContain("word-tail");
});
