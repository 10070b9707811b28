/**
 * Python tasks on the docker backend, through the real CLI: the environment images bring their own interpreter
 * (the base image's python3) with a venv made from the same lock, and the same DAG as on process and sandbox runs
 * green; memory limits hold; a python task without a Python environment is a clear error.
 */
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDocker, removeImages, uniqueProject } from "./helpers/docker.js";
import type { Project } from "./helpers/project.js";
import { PASSWORD, pythonProject, testDag } from "./helpers/python-dag.js";

let docker: Docker;
let project: Project;
const name = uniqueProject("airlock-python");

beforeAll(() => {
  docker = ensureDocker();
  project = pythonProject("docker", { project: name });
});
afterAll(async () => {
  await project.cleanup();
  const images = await docker.listImages({ filters: { label: [`airlock.project=${name}`] } });
  await removeImages(docker, images.flatMap((i) => i.RepoTags ?? []));
});

describe("python tasks on the docker backend", () => {
  it("python_versions: each environment image has its own numpy on the image's Python", async () => {
    const run = await testDag(project, "python_versions", ["--backend", "docker"]);
    expect(run.state).toBe("success");
    expect(run.task("numpy1")).toMatchObject({ isolation: "docker", xcom: { numpy: "1.26.4", prefix: true } });
    expect(run.task("numpy2")).toMatchObject({ isolation: "docker", xcom: { numpy: "2.2.6", prefix: true } });
    // The interpreter is the image's (Debian bookworm's 3.11), not the host's.
    expect(run.task("numpy1").xcom.python).toMatch(/^3\.11\.\d+$/);
  }, 600_000);

  it("context, masking and tracebacks; a memory limit holds; no environment is a clear error", async () => {
    project.writeDag("py_docker.ts", `import { dag, fn, python } from "airlock";
export default dag({ id: "py_docker", defaultArgs: { backend: "docker", environment: "numpy2" } }, () => {
  // A Node task in a Python environment's image: both runners share it.
  const up = fn({ id: "up", run: async () => ({ rows: 3 }) });
  up.then(python({ id: "ctx", callable: "pyjobs/features.py:context_fields", kwargs: { day: "{{ ds }}", n: 1, nested: {} },
           grants: { variables: ["greeting"], connections: ["db"] } }));
  python({ id: "boom", callable: "pyjobs/features.py:boom" });
  python({ id: "hog", callable: "pyjobs/features.py:hog_memory", resources: { memory: "256Mi" } });
});
`);
    const run = await testDag(project, "py_docker");
    expect(run.task("ctx")).toMatchObject({ state: "success", isolation: "docker", xcom: { greeting: "hello", up: { rows: 3 }, conn: { password: "***", host: "db.example.com" } } });
    expect(await run.logs("ctx")).not.toContain(PASSWORD);
    expect(await run.logs("boom")).toContain('File "pyjobs/features.py", line 31, in boom');
    expect(run.task("hog").state).toBe("failed");
    expect(await run.logs("hog")).toMatch(/memory limit|MemoryError/);

    project.writeDag("py_docker_plain.ts", `import { dag, python } from "airlock";
export default dag({ id: "py_docker_plain" }, () => {
  python({ id: "plain", callable: "pyjobs/features.py:boom", backend: "docker" });
});
`);
    const plain = await testDag(project, "py_docker_plain");
    expect(plain.task("plain").state).toBe("failed");
    expect(await plain.logs("plain")).toContain('python task "plain" needs an environment with a requirements.txt on the docker backend');
  }, 600_000);
});
