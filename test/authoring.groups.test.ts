/**
 * Task groups: ids are prefixed with the group's path, group defaults apply under the task's own options, a group
 * connects as one node in .then() and chain(), and bad groups are import errors naming the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const GROUPS = `import { bash, chain, dag, empty, group } from "airlock";
export default dag({ id: "grouped", defaultArgs: { retries: 1, executionTimeout: "1m" } }, () => {
  const start = empty({ id: "start" });
  const g = group({ id: "extract", defaultArgs: { retries: 3 } }, () => {
    const a = bash({ id: "a", command: "echo a" });
    const b = bash({ id: "b", command: "echo b", retries: 0 });
    group({ id: "inner", defaultArgs: { queue: "q2" } }, () => {
      bash({ id: "c", command: "echo c" });
    });
    a.then(b);
  });
  const end = empty({ id: "end" });
  chain(start, g, end);
  const after = g.then(bash({ id: "after", command: "echo after" }));
  after.then(end);
});
`;
const DUPLICATE_GROUP = `import { bash, dag, group } from "airlock";
export default dag({ id: "dup_group" }, () => {
  group({ id: "g" }, () => { bash({ id: "x", command: "echo" }); });
  group({ id: "g" }, () => { bash({ id: "y", command: "echo" }); });
});
`;
const EMPTY_GROUP = `import { dag, group } from "airlock";
export default dag({ id: "empty_group" }, () => {
  group({ id: "nothing" }, () => {});
});
`;
const BAD_GROUP_ID = `import { bash, dag, group } from "airlock";
export default dag({ id: "bad_group_id" }, () => {
  group({ id: "a.b" }, () => { bash({ id: "x", command: "echo" }); });
});
`;
const BAD_DEFAULTS = `import { bash, dag, group } from "airlock";
export default dag({ id: "bad_defaults" }, () => {
  group({ id: "g", defaultArgs: { retrys: 2 } as any }, () => { bash({ id: "x", command: "echo" }); });
});
`;

type Show = { tasks: Array<{ taskId: string; upstream: string[]; downstream: string[]; retries: number; executionTimeoutMs: number | null; queue: string; group?: string }> };
type ListJson = { importErrors: Array<{ fileloc: string; message: string }> };

let project: Project;
beforeAll(() => {
  project = createProject({ dags: {
    "grouped.ts": GROUPS, "dup_group.ts": DUPLICATE_GROUP, "empty_group.ts": EMPTY_GROUP, "bad_group_id.ts": BAD_GROUP_ID, "bad_defaults.ts": BAD_DEFAULTS,
  } });
});
afterAll(async () => {
  await project.cleanup();
});

describe("task groups", () => {
  it("prefix task ids, layer defaults, and connect as one node", async () => {
    const { json } = await project.cliJson<Show>(["dags", "show", "grouped", "--json"]);
    expect(json.tasks.map((x) => x.taskId).sort()).toEqual(["after", "end", "extract.a", "extract.b", "extract.inner.c", "start"]);
    const t = Object.fromEntries(json.tasks.map((x) => [x.taskId, x]));
    // Into the group: its roots (a and inner.c); out of it: its leaves (b and inner.c).
    expect(t["start"]?.downstream).toEqual(["extract.a", "extract.inner.c"]);
    expect(t["extract.a"]?.upstream).toEqual(["start"]);
    expect(t["extract.b"]?.upstream).toEqual(["extract.a"]);
    expect(t["end"]?.upstream).toEqual(["after", "extract.b", "extract.inner.c"]);
    expect(t["after"]?.upstream).toEqual(["extract.b", "extract.inner.c"]);
    expect(t["extract.a"]).toMatchObject({ retries: 3, executionTimeoutMs: 60_000, queue: "default", group: "extract" });
    expect(t["extract.b"]).toMatchObject({ retries: 0, group: "extract" });
    expect(t["extract.inner.c"]).toMatchObject({ retries: 3, queue: "q2", group: "extract.inner" });
    expect(t["start"]?.group).toBeUndefined();
  });

  it("run with their full ids", async () => {
    const { json } = await project.cliJson<{ state: string; tasks: Array<{ taskId: string; state: string; xcom: unknown }> }>(["dags", "test", "grouped", "--json"]);
    expect(json.state).toBe("success");
    expect(json.tasks.find((x) => x.taskId === "extract.inner.c")).toMatchObject({ state: "success", xcom: "c" });
  });

  it("bad groups are import errors that say what to change", async () => {
    const { json } = await project.cliJson<ListJson>(["dags", "list", "--json"]);
    const errorOf = (file: string) => json.importErrors.find((e) => e.fileloc === `dags/${file}`)?.message ?? "";
    expect(errorOf("dup_group.ts")).toContain('DAG "dup_group" has two groups with id "g"');
    expect(errorOf("empty_group.ts")).toContain('group "nothing" in DAG "empty_group" has no tasks');
    expect(errorOf("bad_group_id.ts")).toContain('group id "a.b" in DAG "bad_group_id" is invalid');
    expect(errorOf("bad_defaults.ts")).toContain('group("g"): defaultArgs: unknown option "retrys" (did you mean "retries"?)');
  });
});
