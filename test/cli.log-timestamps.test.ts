/**
 * `airlock tasks logs --timestamps`: each line starts with the time it was written, read from the log's time
 * index (`<log>.times`) locally and from the API's time marks with --api-url; --json adds `lines: [{at, text}]`.
 * The task prints its lines at least 1.1 s apart, so later lines must carry later times.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, waitUntil, type Project, type Standalone } from "./helpers/project.js";

let project: Project;
let standalone: Standalone;
const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)  (.*)$/;

beforeAll(async () => {
  project = createProject();
  const gate = path.join(project.dir, "gate");
  project.writeDag("stamps.ts", `import { bash, dag } from "airlock";
export default dag({ id: "stamps" }, () => {
  bash({ id: "talk", command: ${JSON.stringify(`echo first; sleep 1.1; echo second; sleep 1.1; echo third; while [ ! -e ${gate} ]; do sleep 0.05; done; echo last`)} });
});
`);
  standalone = await project.startStandalone();
}, 120_000);
afterAll(async () => {
  await standalone?.stop();
  await project.cleanup();
});

/** The printed lines with their times, in order. */
function parse(stdout: string): Array<{ at: number; text: string }> {
  return stdout.split("\n").filter(Boolean).map((line) => {
    const m = STAMP.exec(line);
    if (!m) throw new Error(`line without a timestamp: ${JSON.stringify(line)}\n${stdout}`);
    return { at: Date.parse(m[1] as string), text: m[2] as string };
  });
}

it("prints every line with its time, locally, through the API, following a running try, and as JSON", async () => {
  const runId = (await project.cli(["dags", "trigger", "stamps"])).stdout.trim();
  const args = ["tasks", "logs", "stamps", runId, "talk", "--timestamps"];
  // Followed through the API while it runs: lines come with their times as they are written.
  const follow = project.spawnCli([...args, "--follow", "--api-url", standalone.url]);
  await follow.waitFor(/Z {2}third$/m);
  expect(follow.stdout()).not.toContain("last");
  writeFileSync(path.join(project.dir, "gate"), "");
  const followed = await follow.done;
  expect(followed.code).toBe(0);
  await waitUntil("the run to succeed", async () => (await project.cliJson(["tasks", "states", "stamps", runId, "--json"])).json.state === "success");

  const local = await project.cli(args);
  expect(local.code).toBe(0);
  const remote = await project.cli([...args, "--api-url", standalone.url]);
  // (A plain read through the API asked for more than the API serves at once and failed.)
  expect(remote.stderr).toBe("");
  expect(remote.stdout).toBe(local.stdout);
  expect(followed.stdout).toBe(local.stdout);

  const lines = parse(local.stdout);
  const texts = lines.map((l) => l.text);
  expect(texts.slice(1, 5)).toEqual(["first", "second", "third", "last"]);
  expect(texts[0]).toMatch(/^\[airlock\] stamps\.talk try 1 on process/);
  expect(texts.at(-1)).toBe("[airlock] try 1 succeeded");
  const at = (t: string) => lines.find((l) => l.text === t)?.at ?? NaN;
  for (let i = 1; i < lines.length; i++) expect(lines[i]?.at).toBeGreaterThanOrEqual(lines[i - 1]?.at as number);
  expect(at("second") - at("first")).toBeGreaterThanOrEqual(1000);
  expect(at("third") - at("second")).toBeGreaterThanOrEqual(1000);

  // Without the option the log is unchanged.
  const plain = await project.cli(["tasks", "logs", "stamps", runId, "talk"]);
  expect(plain.stdout).toBe(texts.join("\n") + "\n");

  // JSON: the log as before plus its lines with their times, locally and through the API alike.
  const json = await project.cliJson([...args, "--json"]);
  expect(json.json.log).toBe(plain.stdout);
  expect(json.json.lines).toEqual(lines.map((l) => ({ at: new Date(l.at).toISOString(), text: l.text })));
  const remoteJson = await project.cliJson([...args, "--json", "--api-url", standalone.url]);
  expect(remoteJson.json).toEqual(json.json);
});
