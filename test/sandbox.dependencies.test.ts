/**
 * Dependency isolation end to end: tasks of one DAG import lodash at two major versions on two Node versions
 * (runtimes from the registry), each resolving only from its own environment; "airlock" stays importable and a
 * package of the project's own node_modules does not resolve.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend, ResolvedEnvironment } from "../src/backends/types.js";
import { ensureEnvironment } from "../src/environments/index.js";
import { bashTry, ensureBubblewrap, fnTry, makeProject, runTry, type TestProject, startSandbox, type SandboxFixture } from "./helpers/sandbox.js";

let project: TestProject;
let sandbox: SandboxFixture;
let backend: Backend;
let lodash3: ResolvedEnvironment;
let lodash4: ResolvedEnvironment;

const REPORT = `
  const _ = (await import("lodash")).default;
  const sdk = await import("airlock");
  return { lodash: _.VERSION, node: process.version, sdk: typeof sdk.dag };`;

beforeAll(async () => {
  ensureBubblewrap();
  project = await makeProject("airlock-deps-");
  project.addEnvironment("lodash3", { lodash: "^3.10.1" }, 'node: "18"\n');
  project.addEnvironment("lodash4", { lodash: "^4.17.21" }, 'node: "22"\nresources: { memory: "512Mi" }\n');
  lodash3 = await ensureEnvironment(project.config, "lodash3");
  lodash4 = await ensureEnvironment(project.config, "lodash4");
  sandbox = await startSandbox(project);
  backend = sandbox.backend;
});

afterAll(async () => {
  await sandbox?.close();
  project?.cleanup();
});

describe("dependency isolation in the sandbox", () => {
  it("runs two tasks of one DAG on lodash 3 / Node 18 and lodash 4 / Node 22", async () => {
    const [a, b] = await Promise.all([
      runTry(backend, fnTry(project, "isolation", { body: REPORT, environment: lodash3 })),
      runTry(backend, fnTry(project, "isolation", { body: REPORT, environment: lodash4 })),
    ]);
    expect(a.error).toBeNull();
    expect(b.error).toBeNull();
    expect(a.result).toMatchObject({ lodash: expect.stringMatching(/^3\./), node: expect.stringMatching(/^v18\./), sdk: "function" });
    expect(b.result).toMatchObject({ lodash: expect.stringMatching(/^4\./), node: expect.stringMatching(/^v22\./), sdk: "function" });
    // The orchestrator itself runs neither.
    expect(process.version).not.toMatch(/^v(18|22)\./);
  });

  it("does not resolve a package that only the project's node_modules has", async () => {
    const out = await runTry(backend, fnTry(project, "leak", { body: 'return (await import("zod")).z ? "leaked" : "no";', environment: lodash4 }));
    expect(out.result).toBeUndefined();
    expect(out.error?.message).toMatch(/zod/);
    expect(out.error?.message).toMatch(/lodash4|Cannot find/);
  });

  it("puts the environment's Node and package binaries first on PATH for bash tasks", async () => {
    const out = await runTry(backend, bashTry(project, "bashnode", "node --version", { environment: lodash3 }));
    expect(out.error).toBeNull();
    expect(out.result).toMatch(/^v18\./);
  });
});
