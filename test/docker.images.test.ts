/** Environment images: cold build then a cached warm one, what the image holds, deploy to a real registry. */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type Docker from "dockerode";
import { buildEnvironmentImage, deployEnvironment, environmentImage } from "../src/environments/targets/docker.js";
import { DockerError } from "../src/backends/docker/errors.js";
import { MANIFEST_ACCEPT } from "../src/environments/targets/docker-registry.js";
import { TEST_LABEL, ensureDocker, ensureRegistry, removeContainers, removeImages, uniqueProject } from "./helpers/docker.js";
import { fakeEnvironmentBuild } from "./helpers/docker-env.js";

const project = uniqueProject();
const config = { project, docker: { socketPath: null, host: null, registry: null, baseImage: null } };
const key = randomBytes(8).toString("hex");
let docker: Docker;
let env: Awaited<ReturnType<typeof fakeEnvironmentBuild>>;
const created: string[] = [];

async function run(image: string, cmd: string[]): Promise<string> {
  const chunks: Buffer[] = [];
  const out = new PassThrough();
  out.on("data", (b: Buffer) => chunks.push(b));
  const [res] = (await docker.run(image, cmd, out, { Tty: true, Labels: { [TEST_LABEL]: project }, HostConfig: { AutoRemove: true, NetworkMode: "none" } })) as [{ StatusCode: number }];
  expect(res.StatusCode).toBe(0);
  return Buffer.concat(chunks).toString().trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("docker environment images", { timeout: 600_000 }, () => {
  beforeAll(async () => {
    docker = ensureDocker();
    env = await fakeEnvironmentBuild("hello from the image");
  });
  afterAll(async () => {
    await removeContainers(docker, `${TEST_LABEL}=${project}`);
    await removeImages(docker, created);
    await env?.cleanup();
  });

  it("builds cold with node, packages and dependencies, then skips the warm build", async () => {
    const spec = { name: "greeter", packages: ["jq"], base: null };
    const build = { name: "greeter", key, root: env.root, nodeBinary: null };
    const lines: string[] = [];
    const cold = await buildEnvironmentImage(config, spec, build, { log: (l) => lines.push(l) });
    created.push(cold.image);
    expect(cold).toEqual({ image: environmentImage(config, "greeter", key), cached: false });
    const info = await docker.getImage(cold.image).inspect();
    expect(info.Config.Labels?.["airlock.key"]).toBe(key);
    expect(await run(cold.image, ["node", "--version"])).toBe(process.version);
    expect(await run(cold.image, ["node", "-e", "import('greeting').then((m) => console.log(m.message))"])).toBe("hello from the image");
    expect(await run(cold.image, ["sh", "-c", "echo '{\"a\":41}' | jq -M .a"])).toBe("41");
    expect(await run(cold.image, ["readlink", "node_modules/.bin/greet"])).toBe("../greeting/index.js");
    // No orchestrator code in the image: only the environment's own folder.
    expect(await run(cold.image, ["ls", "/opt"])).toBe("environment");
    expect(await run(cold.image, ["sh", "-c", "find / -xdev -name 'airlock*' | wc -l"])).toBe("0");

    const warm = await buildEnvironmentImage(config, spec, build, { log: (l) => lines.push(l) });
    expect(warm).toEqual({ image: cold.image, cached: true });
    expect((await docker.getImage(warm.image).inspect()).Id).toBe(info.Id);
  });

  it("deploys to a real registry and verifies the manifest it serves", async () => {
    const registry = ensureRegistry(5000);
    created.push(`${registry}/${project}/greeter:${key}`);
    const { reference, digest } = await deployEnvironment(config, "greeter", { registry, key });
    expect(reference).toBe(`${registry}/${project}/greeter:${key}`);
    const res = await fetch(`http://${registry}/v2/${project}/greeter/manifests/${key}`, { headers: { Accept: MANIFEST_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-content-digest")).toBe(digest);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("fails clearly when the registry is dead", async () => {
    const port = await freePort();
    const err = await deployEnvironment(config, "greeter", { registry: `127.0.0.1:${port}`, key }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerError);
    expect((err as DockerError).code).toBe("registry_unreachable");
    expect((err as DockerError).message).toContain(`127.0.0.1:${port} did not answer`);
  });

  it("fails clearly when the environment has no image", async () => {
    const err = await deployEnvironment(config, "never-built", { registry: ensureRegistry(5000) }).catch((e: unknown) => e);
    expect((err as DockerError).code).toBe("image_missing");
    expect((err as DockerError).message).toContain("airlock env build never-built --target docker");
  });
});
