/**
 * The process backend enforces `resources` through per-try cgroups, as the sandbox does: a 128Mi task that
 * allocates 600 MiB is killed and reported as "memory limit exceeded (128 MiB)", a fork bomb stops at its pids
 * limit, a task under its limit is untouched, and the try's cgroup is gone afterwards. Driven through the CLI.
 */
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PROCESS_CGROUP_PARENT } from "../src/backends/process/limits.js";
import { detectCgroups } from "../src/backends/sandbox/cgroups.js";
import { createProject, type Project } from "./helpers/project.js";

const dagFile = (id: string, task: string) => `import { bash, dag, fn } from "airlock";
export default dag({ id: "${id}" }, () => {
  ${task};
});
`;
const DAGS = {
  "hog.ts": dagFile("hog", `fn({ id: "hog", backend: "process", resources: { memory: "128Mi" }, run: async () => {
    const keep = [];
    for (let i = 0; i < 600; i++) keep.push(Buffer.alloc(1 << 20, 1));
    return keep.length;
  } })`),
  "fits.ts": dagFile("fits", `fn({ id: "fits", backend: "process", resources: { memory: "512Mi" }, run: async () => Buffer.alloc(100 << 20, 1).length })`),
  "forks.ts": dagFile("forks", `bash({ id: "forks", backend: "process", resources: { pids: 40 }, command: "for i in $(seq 200); do sleep 5 & done; wait; echo all-forked" })`),
};

let project: Project;
const system = detectCgroups();
const memoryRoot = system ? (system.version === 1 ? system.mounts.memory : system.mount) : undefined;

beforeAll(() => {
  project = createProject({ dags: DAGS });
});
afterAll(async () => {
  await project.cleanup();
});

it("kills a 128Mi task that allocates 600 MiB and names the memory limit", async () => {
  const r = await project.cli(["dags", "test", "hog"]);
  const out = r.stdout + r.stderr;
  expect(r.code, out).toBe(1);
  expect(out).toContain("memory limit exceeded (128 MiB)");
  // The try's cgroup was removed with it.
  expect(readdirSync(`${memoryRoot}/${PROCESS_CGROUP_PARENT}`).filter((n) => n.startsWith("hog.hog."))).toEqual([]);
}, 120_000);

it("leaves a task under its limit alone, and holds a fork bomb at its pids limit", async () => {
  const fits = await project.cli(["dags", "test", "fits"]);
  expect(fits.code, fits.stdout + fits.stderr).toBe(0);
  const forks = await project.cli(["dags", "test", "forks"]);
  const out = forks.stdout + forks.stderr;
  expect(forks.code, out).toBe(1);
  expect(out).toMatch(/fork: (retry: )?Resource temporarily unavailable/);
  expect(out).not.toContain("all-forked");
}, 120_000);
