/**
 * XCom results of 64 MiB round-trip intact: an fn task returns a 64 MiB string, a downstream task in another
 * process pulls it and reports its length and hash, and the CLI's JSON summary holds the same value.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const SIZE = 64 * 1024 * 1024;

// The value is a deterministic, non-repeating-looking text, so truncation or reordering changes the hash.
function bigValue(): string {
  const parts: string[] = [];
  let n = 0;
  for (let length = 0; length < SIZE; n++) {
    const part = `${n.toString(36)}:${(n * 2654435761 % 4294967296).toString(16)};`;
    parts.push(part);
    length += part.length;
  }
  return parts.join("").slice(0, SIZE);
}

const DAG = `import { bash, dag, fn } from "airlock";
import { createHash } from "node:crypto";
${bigValue.toString()}
const SIZE = ${SIZE};
export default dag({ id: "big_xcom" }, () => {
  const produce = fn({ id: "produce", run: async () => bigValue() });
  const consume = fn({
    id: "consume",
    run: async (ctx) => {
      const v = ctx.xcom.pull<string>("produce");
      return { length: v.length, sha256: createHash("sha256").update(v).digest("hex"), tail: v.slice(-16) };
    },
  });
  const templated = bash({ id: "templated", command: "echo {{ ti.xcom_pull('produce') | length }}" });
  produce.then([consume, templated]);
});
`;

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "big.ts": DAG } });
});
afterAll(async () => {
  await project.cleanup();
});

it("a 64 MiB result round-trips intact to a downstream task and to the CLI", async () => {
  const expected = bigValue();
  const sha256 = createHash("sha256").update(expected).digest("hex");
  const r = await project.cliJson(["dags", "test", "big_xcom", "--json"], { timeoutMs: 170_000 });
  expect(r.json.state).toBe("success");
  const tasks = Object.fromEntries((r.json.tasks as Array<{ taskId: string; xcom: unknown }>).map((t) => [t.taskId, t.xcom]));
  expect(tasks.consume).toEqual({ length: SIZE, sha256, tail: expected.slice(-16) });
  expect(tasks.templated).toBe(String(SIZE));
  const produced = tasks.produce as string;
  expect(produced.length).toBe(SIZE);
  expect(createHash("sha256").update(produced).digest("hex")).toBe(sha256);
}, 180_000);
