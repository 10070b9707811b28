/**
 * The scratch-disk limit (`resources.scratch`, default 1Gi) on every backend with a host-side scratch directory:
 * a task writing past it is stopped and fails with "scratch disk limit of N MiB exceeded" on process, sandbox and
 * docker; the sandbox's and docker's /tmp are tmpfs of the same size, so writing past it there fails with ENOSPC.
 * Driven through `airlock dags test --backend <b>`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SCRATCH_BYTES, scratchBytes } from "../src/environments/resources.js";
import { bash } from "../src/sdk/operators.js";
import { dag } from "../src/sdk/dag.js";
import { ensureDocker } from "./helpers/docker.js";
import { createProject, type Project } from "./helpers/project.js";

const SCRATCH = `import { bash, dag } from "airlock";
export default dag({ id: "scratch" }, () => {
  bash({ id: "fill", resources: { scratch: "64Mi" }, command: "head -c 200M /dev/zero > fill; echo wrote; sleep 4; echo survived" });
});
`;
const TMP = `import { bash, dag } from "airlock";
export default dag({ id: "tmpfill" }, () => {
  bash({ id: "fill_tmp", resources: { scratch: "64Mi" }, command: "head -c 200M /dev/zero > /tmp/fill || echo tmp-full; ls -l /tmp/fill; exit 3" });
});
`;

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "scratch.ts": SCRATCH, "tmpfill.ts": TMP } });
});
afterAll(async () => {
  await project.cleanup();
});

describe("scratch disk limit", { timeout: 300_000 }, () => {
  it("is 1 GiB unless set, and a bad size names resources.scratch", () => {
    expect(scratchBytes(null)).toBe(DEFAULT_SCRATCH_BYTES);
    expect(DEFAULT_SCRATCH_BYTES).toBe(1024 ** 3);
    expect(scratchBytes({ scratch: "64Mi" })).toBe(64 * 1024 ** 2);
    expect(() => dag({ id: "bad" }, () => { bash({ id: "t", command: "true", resources: { scratch: "lots" } }); })).toThrow(/resources\.scratch "lots" is not a disk size/);
  });

  for (const backend of ["process", "sandbox", "docker"] as const) {
    it(`stops a task writing past its scratch limit on ${backend}`, async () => {
      if (backend === "docker") ensureDocker();
      const r = await project.cli(["dags", "test", "scratch", "--backend", backend], { timeoutMs: 240_000 });
      const out = r.stdout + r.stderr;
      expect(r.code, out).toBe(1);
      expect(out).toContain("scratch disk limit of 64 MiB exceeded");
      expect(out).not.toContain("survived");
    });
  }

  for (const backend of ["sandbox", "docker"] as const) {
    it(`bounds /tmp on ${backend} with a tmpfs of the scratch size`, async () => {
      const r = await project.cli(["dags", "test", "tmpfill", "--backend", backend], { timeoutMs: 240_000 });
      const out = r.stdout + r.stderr;
      expect(out).toContain("No space left on device");
      expect(out).toContain("tmp-full");
      // 64 MiB and not a byte more.
      expect(out).toMatch(/ 67108864 .*\/tmp\/fill/);
    });
  }
});
