/**
 * The docker target of environments: builds `<project>/<name>:<key>` from a base image plus the environment's
 * Node runtime, Debian packages and dependency folder (skipped when that key exists), and deploys it to a
 * registry, verifying the manifest is there before reporting success.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import type { AirlockConfig } from "../../config/config.js";
import { createDockerClient, followProgress, pingEngine } from "../../backends/docker/client.js";
import { DockerError, messageOf } from "../../backends/docker/errors.js";
import { buildContext } from "./docker-context.js";
import { pushAndVerify } from "./docker-registry.js";
import { PYTHON_LOCK } from "../python/lock.js";
import { findUv, UV_INSTALL_HINT } from "../python/uv.js";
import { VENV_DIR } from "../python/venv.js";

/** The base image built locally by scripts/build-base-image.sh (debootstrap); used when nothing else is set. */
export const DEFAULT_BASE_IMAGE = "airlock/base:bookworm";
/** Where an environment's package.json and node_modules live inside its image. */
export const IMAGE_ENVIRONMENT_ROOT = "/opt/environment";
/** Label holding the environment key; an image whose label matches is not built again. */
export const KEY_LABEL = "airlock.key";
/** Label holding the environment name. */
export const ENVIRONMENT_LABEL = "airlock.environment";

/** What the image build needs of an environment's spec (a subset of the environments module's spec). */
export interface DockerEnvironmentSpec {
  name: string;
  /** Debian packages from packages.txt. */
  packages: string[];
  /** Base image from environment.yaml; null = config.docker.baseImage or the local base image. */
  base?: string | null;
}

/** What the image build needs of a local build (a subset of the environments module's build). */
export interface DockerEnvironmentBuild {
  name: string;
  key: string;
  /** Folder with the environment's package.json and node_modules. */
  root: string;
  /** Node binary of the environment's runtime; null = the orchestrator's own. */
  nodeBinary: string | null;
  nodeVersion?: string;
  /** A Python environment: the venv is made in the image, with the image's interpreter, from the build's lock. */
  python?: { version: string } | null;
}

/** Progress lines go here. */
export interface TargetOptions {
  log?: (line: string) => void;
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?(=[A-Za-z0-9.+~:-]+)?$/;
const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../scripts/build-base-image.sh");

/** `<project>/<name>` as a valid image repository name. */
export function imageRepository(config: Pick<AirlockConfig, "project">, name: string): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]/g, "-").replace(/^[^a-z0-9]+/, "");
  return `${clean(config.project) || "airlock"}/${clean(name) || "environment"}`;
}

/** The image reference of an environment build: `<project>/<name>:<key>`. */
export function environmentImage(config: Pick<AirlockConfig, "project">, name: string, key: string): string {
  return `${imageRepository(config, name)}:${key}`;
}

async function imageExists(docker: Docker, ref: string): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw new DockerError("engine_unavailable", `could not inspect image ${ref}: ${messageOf(err)}`, { cause: err });
  }
}

function runScript(script: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const take = (b: Buffer) => {
      for (const line of b.toString().split("\n")) if (line.trim()) { log(line); tail.push(line); tail.splice(0, tail.length - 20); }
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(script)} exited with ${code}: ${tail.join(" | ")}`))));
  });
}

/** Makes sure the base image exists: builds the local default once, pulls any other. */
export async function ensureBaseImage(docker: Docker, base: string, log: (line: string) => void = () => {}): Promise<void> {
  if (await imageExists(docker, base)) return;
  if (base === DEFAULT_BASE_IMAGE) {
    log(`building base image ${base} (debootstrap; once)`);
    try {
      await runScript(SCRIPT, [base], log);
    } catch (err) {
      throw new DockerError("image_build_failed", `could not build the base image ${base}: ${messageOf(err)}; run scripts/build-base-image.sh to see the whole output`, { cause: err });
    }
    return;
  }
  log(`pulling base image ${base}`);
  try {
    await followProgress(docker, await docker.pull(base), log);
  } catch (err) {
    throw new DockerError("pull_failed", `could not pull the base image ${base}: ${messageOf(err)}; pull it yourself (docker pull ${base}) or set "base" in environment.yaml to an image this engine has`, { cause: err });
  }
}

/** The Dockerfile of an environment image; `pythonMinor` ("3.11") makes it a Python environment's. */
export function environmentDockerfile(base: string, packages: string[], pythonMinor: string | null = null, caBundle = false): string {
  const lines = [`FROM ${base}`];
  // The base image decides the Python version; a base without python3 gets its distribution's.
  const apt = [...packages, ...(pythonMinor ? ["python3"] : [])];
  if (apt.length > 0) {
    const install = `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${apt.join(" ")} && rm -rf /var/lib/apt/lists/*`;
    lines.push(packages.length > 0 ? `RUN ${install}` : `RUN command -v python3 >/dev/null || (${install})`);
  }
  lines.push(
    "COPY node /usr/local/bin/node",
    `COPY environment/ ${IMAGE_ENVIRONMENT_ROOT}/`,
  );
  if (pythonMinor) {
    const venv = `${IMAGE_ENVIRONMENT_ROOT}/${VENV_DIR}`;
    const check = `import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(0 if v == "${pythonMinor}" else "the base image has Python " + v + ", but ${PYTHON_LOCK} was resolved for ${pythonMinor}: use a base image with Python ${pythonMinor}, or set python: \\"" + v + "\\" in environment.yaml")`;
    // The host's trusted certificates (SSL_CERT_FILE), so the index is reached as the host reaches it.
    const ca = caBundle ? " SSL_CERT_FILE=/tmp/airlock-ca.crt" : "";
    lines.push(
      `COPY uv ${caBundle ? "airlock-ca.crt " : ""}/tmp/`,
      // The lock is installed exactly (hashes checked) into a venv on the image's own interpreter.
      `RUN mv /tmp/uv /tmp/airlock-uv && python3 -c '${check}' && export UV_CACHE_DIR=/tmp/airlock-uv-cache UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1${ca} && /tmp/airlock-uv venv --quiet --relocatable --python "$(command -v python3)" ${venv} && /tmp/airlock-uv pip sync --quiet --require-hashes --link-mode copy --python ${venv}/bin/python ${IMAGE_ENVIRONMENT_ROOT}/${PYTHON_LOCK} && rm -rf /tmp/airlock-uv /tmp/airlock-uv-cache /tmp/airlock-ca.crt`,
    );
  }
  lines.push("ENV NODE_ENV=production", `WORKDIR ${IMAGE_ENVIRONMENT_ROOT}`);
  return `${lines.join("\n")}\n`;
}

/** Builds the environment's image unless one with its key exists; returns its reference. */
export async function buildEnvironmentImage(
  config: Pick<AirlockConfig, "project" | "docker">, spec: DockerEnvironmentSpec, build: DockerEnvironmentBuild,
  options: TargetOptions = {},
): Promise<{ image: string; cached: boolean }> {
  const log = options.log ?? (() => {});
  for (const p of spec.packages) {
    if (!PACKAGE_NAME.test(p)) throw new DockerError("invalid_task", `packages.txt of environment "${spec.name}": "${p}" is not a Debian package name; write one name per line, e.g. "curl" or "libpq5=15.8-0+deb12u1"`);
  }
  const docker = createDockerClient(config.docker);
  await pingEngine(docker);
  const image = environmentImage(config, build.name, build.key);
  const existing = await imageExists(docker, image);
  if (existing?.Config?.Labels?.[KEY_LABEL] === build.key) {
    log(`image ${image} exists; not building again`);
    return { image, cached: true };
  }
  const base = spec.base ?? config.docker.baseImage ?? DEFAULT_BASE_IMAGE;
  await ensureBaseImage(docker, base, log);
  log(`building ${image} from ${base}`);
  const pythonMinor = build.python ? build.python.version.split(".").slice(0, 2).join(".") : null;
  const uv = pythonMinor ? findUv() : null;
  if (pythonMinor && !uv) throw new DockerError("image_build_failed", `environment "${spec.name}" is a Python environment, and uv, which installs its packages into the image, is not installed; ${UV_INSTALL_HINT}`);
  const caFile = process.env.SSL_CERT_FILE;
  const ca = pythonMinor && caFile && existsSync(caFile) ? caFile : null;
  const context = buildContext([
    { name: "Dockerfile", text: environmentDockerfile(base, spec.packages, pythonMinor, ca !== null) },
    { name: "node", from: build.nodeBinary ?? process.execPath },
    // The host's venv is made for the host's interpreter: the image gets its own.
    { name: "environment", from: build.root, exclude: [VENV_DIR] },
    ...(uv ? [{ name: "uv", from: uv }] : []),
    ...(ca ? [{ name: "airlock-ca.crt", from: ca }] : []),
  ]);
  try {
    const stream = await docker.buildImage(context, {
      t: image,
      labels: { [KEY_LABEL]: build.key, [ENVIRONMENT_LABEL]: build.name, "airlock.project": config.project },
      // The host's network reaches the Debian mirror even where the engine's bridge has no route out.
      networkmode: "host",
      rm: true,
      forcerm: true,
    });
    await followProgress(docker, stream, log);
  } catch (err) {
    throw new DockerError("image_build_failed", `building image ${image} failed: ${messageOf(err)}; check packages.txt names and that the base image ${base} has apt and glibc`, { cause: err });
  }
  if (!(await imageExists(docker, image))) throw new DockerError("image_build_failed", `the engine reported no error but image ${image} does not exist; look at the engine's log`);
  return { image, cached: false };
}

/** Options of `deployEnvironment`. */
export interface DeployOptions extends TargetOptions {
  /** Registry as host:port (http for localhost/127.x, https otherwise; prefix http:// to force plain http). */
  registry: string;
  /** Key to deploy; default the newest local image of the environment. */
  key?: string;
  /** Credentials for a registry that requires them (never logged). */
  auth?: { username: string; password: string };
}

/** Pushes `<registry>/<project>/<name>:<key>` and verifies its manifest is served before reporting success. */
export async function deployEnvironment(
  config: Pick<AirlockConfig, "project" | "docker">, name: string, options: DeployOptions,
): Promise<{ reference: string; digest: string }> {
  const log = options.log ?? (() => {});
  const docker = createDockerClient(config.docker);
  await pingEngine(docker);
  const repository = imageRepository(config, name);
  let key = options.key;
  if (!key) {
    const images = await docker.listImages({ filters: { reference: [repository], label: [KEY_LABEL] } });
    const newest = images.sort((a, b) => b.Created - a.Created)[0];
    key = newest?.Labels?.[KEY_LABEL];
  }
  if (!key || !(await imageExists(docker, `${repository}:${key}`))) {
    throw new DockerError("image_missing", `no image of environment "${name}"${key ? ` with key ${key}` : ""} exists; run \`airlock env build ${name} --target docker\` first`);
  }
  return pushAndVerify(docker, { source: `${repository}:${key}`, registry: options.registry, repository, tag: key, log, ...(options.auth ? { auth: options.auth } : {}) });
}

/** The image of tasks without an environment: the base image plus the orchestrator's own Node, built once. */
export async function ensureRuntimeImage(config: Pick<AirlockConfig, "docker">, options: TargetOptions = {}): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), "airlock-runtime-"));
  try {
    await writeFile(path.join(root, "package.json"), JSON.stringify({ name: "airlock-runtime", private: true }));
    const key = `node-${process.versions.node}${config.docker.baseImage ? `-${createHashOf(config.docker.baseImage)}` : ""}`;
    const { image } = await buildEnvironmentImage({ project: "airlock", docker: config.docker }, { name: "runtime", packages: [] }, { name: "runtime", key, root, nodeBinary: null }, options);
    return image;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function createHashOf(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}
