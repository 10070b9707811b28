/** Environment specs: valid specs load with defaults; every invalid one names the file and the field. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnvironmentNotFoundError, EnvironmentSpecError, loadEnvironmentSpec, environmentKey, listEnvironmentNames } from "../src/environments/index.js";
import { makeProject, type TestProject } from "./helpers/sandbox.js";

let project: TestProject;

beforeAll(async () => {
  project = await makeProject("airlock-spec-");
});
afterAll(() => project?.cleanup());

function specError(name: string): EnvironmentSpecError {
  try {
    loadEnvironmentSpec(project.config, name);
  } catch (err) {
    if (err instanceof EnvironmentSpecError) return err;
    throw err;
  }
  throw new Error(`spec ${name} loaded, but should not`);
}

describe("loadEnvironmentSpec", () => {
  it("loads a full spec with its defaults filled in", () => {
    const dir = project.addEnvironment("full", { lodash: "^4.17.21" },
      'node: "22"\nnetwork: host\nresources: { memory: "256Mi", cpu: 0.5, pids: 64 }\nbase: debian:bookworm-slim\nallowScripts: true\n');
    writeFileSync(path.join(dir, "packages.txt"), "# tools\ncurl\nlibvips42=8.14.1-3\n");
    const spec = loadEnvironmentSpec(project.config, "full");
    expect(spec).toMatchObject({
      name: "full", dir, node: "22", network: "host", resources: { memory: "256Mi", cpu: 0.5, pids: 64 },
      base: "debian:bookworm-slim", packages: ["curl", "libvips42=8.14.1-3"], allowScripts: true, lockfile: null,
      manifest: { dependencies: { lodash: "^4.17.21" } },
    });
    project.addEnvironment("minimal", {});
    expect(loadEnvironmentSpec(project.config, "minimal")).toMatchObject({ node: null, network: "none", resources: null, base: null, packages: [], allowScripts: false });
    expect(listEnvironmentNames(project.config)).toEqual(expect.arrayContaining(["full", "minimal"]));
  });

  it.each([
    ["unknown key", "nodes: \"22\"\n", "environments/bad-key/environment.yaml: nodes", /unknown key/],
    ["bad node version", "node: \"twenty\"\n", "environments/bad-node/environment.yaml: node", /not a Node version/],
    ["too old node", "node: \"12\"\n", "environments/old-node/environment.yaml: node", /too old/],
    ["bad network", "network: bridge\n", "environments/bad-net/environment.yaml: network", /./],
    ["bad memory", "resources: { memory: lots }\n", "environments/bad-mem/environment.yaml: resources.memory", /not a size/],
    ["unknown resource", "resources: { gpu: 1 }\n", "environments/bad-res/environment.yaml: resources.gpu", /unknown key/],
    ["bad yaml", "node: [\n", "environments/bad-yaml/environment.yaml", /not valid YAML/],
  ])("rejects %s in environment.yaml, naming file and field", (_what, yaml, field, message) => {
    const name = field.split("/")[1] as string;
    project.addEnvironment(name, {}, yaml);
    const err = specError(name);
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(err.message).toMatch(message);
    expect(err.hint.length).toBeGreaterThan(10);
  });

  it("rejects a missing package.json, bad dependencies and bad packages.txt lines", () => {
    mkdirSync(path.join(project.config.environmentsFolder, "no-pkg"));
    expect(specError("no-pkg")).toMatchObject({ field: "environments/no-pkg/package.json", message: expect.stringContaining("file is missing") });

    const dir = project.addEnvironment("bad-deps", {});
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ dependencies: { lodash: 4 } }));
    expect(specError("bad-deps").field).toBe("environments/bad-deps/package.json: dependencies");

    writeFileSync(path.join(project.addEnvironment("bad-json", {}), "package.json"), "{ nope");
    expect(specError("bad-json").message).toMatch(/package\.json: is not valid JSON/);

    writeFileSync(path.join(project.addEnvironment("bad-apt", {}), "packages.txt"), "curl\nNot_A_Package!\n");
    expect(specError("bad-apt").field).toBe("environments/bad-apt/packages.txt: line 2");

    writeFileSync(path.join(project.addEnvironment("old-lock", {}), "package-lock.json"), JSON.stringify({ lockfileVersion: 1 }));
    expect(specError("old-lock").field).toBe("environments/old-lock/package-lock.json: lockfileVersion");
  });

  it("rejects unknown environments and bad names with what to do", () => {
    expect(() => loadEnvironmentSpec(project.config, "nope")).toThrow(EnvironmentNotFoundError);
    expect(() => loadEnvironmentSpec(project.config, "nope")).toThrow(expect.objectContaining({ hint: expect.stringContaining("airlock env init nope") }));
    expect(() => loadEnvironmentSpec(project.config, "../etc")).toThrow(EnvironmentSpecError);
  });
});

describe("environmentKey", () => {
  const lock = (version: string, resolved = "https://mirror-a.example/lodash.tgz") => ({
    lockfileVersion: 3,
    packages: { "": { name: "x", dependencies: { lodash: "^4" } }, "node_modules/lodash": { version, resolved, integrity: `sha512-${version}` } },
  });
  const inputs = { lockfile: lock("4.17.21"), nodeVersion: "22.12.0", packages: ["curl"], base: null, allowScripts: false };

  it("changes with every input that changes the build, and only with those", () => {
    const key = environmentKey(inputs);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(environmentKey({ ...inputs })).toBe(key);
    expect(environmentKey({ ...inputs, lockfile: lock("4.17.20") })).not.toBe(key);
    expect(environmentKey({ ...inputs, nodeVersion: "22.13.0" })).not.toBe(key);
    expect(environmentKey({ ...inputs, packages: ["curl", "git"] })).not.toBe(key);
    expect(environmentKey({ ...inputs, base: "debian:bookworm" })).not.toBe(key);
    expect(environmentKey({ ...inputs, allowScripts: true })).not.toBe(key);
    expect(environmentKey({ ...inputs, platform: "linux-arm64" })).not.toBe(key);
    // A mirror URL or the package's own name does not change what is installed.
    expect(environmentKey({ ...inputs, lockfile: lock("4.17.21", "https://mirror-b.example/lodash.tgz") })).toBe(key);
    expect(environmentKey({ ...inputs, packages: ["curl"] })).toBe(key);
  });
});
