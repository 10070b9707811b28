/**
 * The `docker` backend: each try in its own container through the Docker Engine API (Docker or Podman).
 * Runner mode runs Airlock's runner (mounted read-only, never baked into the image) inside the environment's
 * image, with the payload on stdin and events back as nonce-tagged stdout lines; container mode runs a user's
 * image for the container operator. Either way the container is removed when the try ends, is killed or times out.
 */
import { prepareTryFiles } from "../try-files.js";
import { appendFileSync, existsSync } from "node:fs";
import path from "node:path";
import type Docker from "dockerode";
import type { AirlockConfig } from "../../config/config.js";
import { fileURLToPath } from "node:url";
import { IMAGE_ENVIRONMENT_ROOT, buildEnvironmentImage, ensureRuntimeImage, environmentImage } from "../../environments/targets/docker.js";
import type { Backend, LaunchRequest, ResolvedEnvironment, RunningTry, TryHandle } from "../types.js";
import { createDockerClient, pingEngine } from "./client.js";
import { type ContainerArgs, ensureImage, finishContainer, planContainer, prepareXcomDir, secretsFileOf, startedEvent } from "./container-task.js";
import { DockerError, messageOf } from "./errors.js";
import { containerRunnerCommand, isPythonTask } from "../python-runner.js";
import { type DockerHandle, pipeOutput, supervise } from "./lifecycle.js";
import { OutputDemuxer, writtenSoFar } from "./output.js";
import { CONTAINER_AIRLOCK_ROOT, LABELS, STDIO, containerName, limits, ownerOf, sameMounts, tryLabels } from "./spec.js";
import { scratchBytes } from "../../environments/resources.js";

export { reapOrphans } from "./reaper.js";

/** Handle fields of container-operator tries, so an adopted one ends the same way. */
interface ContainerHandle extends DockerHandle {
  autoRemove: NonNullable<ContainerArgs["autoRemove"]>;
  xcom: boolean;
}

/** This installation's built dist/ folder (three levels up from this file in both src/ and dist/). */
const AIRLOCK_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "dist");
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function note(request: Pick<LaunchRequest, "rawLogPath">, line: string): void {
  appendFileSync(request.rawLogPath, `[airlock] ${line}\n`, { mode: 0o600 });
}

/** Creates the container under the try's fixed name; a leftover never-started one is replaced, a started one refused. */
async function createOnce(docker: Docker, options: Docker.ContainerCreateOptions & { name: string }): Promise<Docker.Container> {
  try {
    return await docker.createContainer(options);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 409) throw err;
    const existing = docker.getContainer(options.name);
    const state = await existing.inspect().then((i) => i.State.Status, () => "gone");
    if (state !== "created" && state !== "gone") {
      throw new DockerError("container_failed", `container ${options.name} of this try already exists (${state}): a try never runs twice; the orchestrator adopts it after a restart`, { cause: err });
    }
    await existing.remove({ force: true }).catch(() => undefined);
    return docker.createContainer(options);
  }
}

/** Options of the docker backend. */
export interface DockerBackendOptions {
  /** Built `dist/` folder mounted for the runner (its parent must hold the package.json). @default this installation's */
  distDir?: string;
}

/** Creates the docker backend. */
export function createDockerBackend(config: Pick<AirlockConfig, "project" | "docker" | "environmentsFolder" | "projectDir" | "stateDir">, options: DockerBackendOptions = {}): Backend {
  const distDir = options.distDir ?? AIRLOCK_DIST;
  const docker = createDockerClient(config.docker);
  const owner = ownerOf(config);

  // Images known to exist: a try's start should not pay for checks the previous try already made.
  const known = new Set<string>();
  let runtimeImage: Promise<string> | null = null;

  async function runnerImage(request: LaunchRequest, env: ResolvedEnvironment | null): Promise<string> {
    const log = (line: string) => note(request, line);
    if (!env) {
      runtimeImage ??= ensureRuntimeImage(config, { log: () => undefined });
      return runtimeImage.catch((err: unknown) => {
        runtimeImage = null;
        throw err;
      });
    }
    const image = env.image ?? environmentImage(config, env.name, env.key);
    if (known.has(image)) return image;
    if (await docker.getImage(image).inspect().then(() => true, () => false)) {
      known.add(image);
      return image;
    }
    // Same DAG, any backend: an environment used on docker for the first time gets its image built here.
    log(`building image ${image} for environment ${env.name}`);
    const { loadEnvironmentSpec } = await import("../../environments/spec.js");
    const spec = loadEnvironmentSpec(config, env.name);
    const built = await buildEnvironmentImage(config, spec, { name: env.name, key: env.key, root: env.root, nodeBinary: env.nodeBinary, python: env.python ?? null }, { log: () => undefined });
    log(`built image ${built.image}`);
    return built.image;
  }

  /** Attaches before starting (so no output is missed), starts, and hands the payload over stdin. */
  async function start(container: Docker.Container, demux: OutputDemuxer, stdin: string | null): Promise<{ output: Promise<void> }> {
    try {
      const stream = await container.attach({ stream: true, stdin: stdin !== null, stdout: true, stderr: true, hijack: stdin !== null });
      const output = pipeOutput(docker, stream, demux);
      await container.start();
      if (stdin !== null) (stream as NodeJS.WritableStream).end(stdin);
      return { output };
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw new DockerError("container_failed", `starting the try's container failed: ${messageOf(err)}`, { cause: err });
    }
  }

  async function launchRunner(request: LaunchRequest): Promise<RunningTry> {
    const env = request.environment;
    if (!existsSync(path.join(distDir, "runner.mjs"))) {
      throw new DockerError("invalid_task", `the runner bundle ${path.join(distDir, "runner.mjs")} is missing; run \`npm run build\` first`);
    }
    const python = isPythonTask(request.payload);
    if (python && !env?.python) {
      throw new DockerError("invalid_task", `python task "${request.key.taskId}" needs an environment with a requirements.txt on the docker backend (its image provides the interpreter); ${env ? `add environments/${env.name}/requirements.txt (it may be empty)` : "give it environment: \"<name>\""}`);
    }
    const image = await runnerImage(request, env);
    const payload = {
      ...request.payload,
      context: { ...request.payload.context, environment: env ? { name: env.name, root: IMAGE_ENVIRONMENT_ROOT } : null },
    };
    const readable = [...request.readablePaths, ...(payload.dagModule ? [payload.dagModule] : [])].filter((p) => existsSync(p));
    const name = containerName(request.key);
    const container = await createOnce(docker, {
      name,
      Image: image,
      Entrypoint: containerRunnerCommand(request.payload, `${CONTAINER_AIRLOCK_ROOT}/dist`, IMAGE_ENVIRONMENT_ROOT),
      Cmd: [],
      Env: [`PATH=${PATH}`, `HOME=${request.scratchDir}`, `TMPDIR=${request.scratchDir}`, "LANG=C.UTF-8"],
      User: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      WorkingDir: request.scratchDir,
      Labels: tryLabels(request, "runner", owner),
      ...STDIO,
      HostConfig: {
        NetworkMode: request.network === "host" ? "host" : "none",
        ...limits(request.resources),
        ReadonlyRootfs: true,
        // The root filesystem is read-only: /tmp and the scratch directory are all a try can fill.
        Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${scratchBytes(request.resources)}` },
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Mounts: [
          { Type: "bind", Source: distDir, Target: `${CONTAINER_AIRLOCK_ROOT}/dist`, ReadOnly: true },
          // dist/ holds ES modules; its package.json says so.
          { Type: "bind", Source: path.join(path.dirname(distDir), "package.json"), Target: `${CONTAINER_AIRLOCK_ROOT}/package.json`, ReadOnly: true },
          ...sameMounts(readable.filter((p) => !p.startsWith(request.scratchDir)), true),
          { Type: "bind", Source: request.scratchDir, Target: request.scratchDir, ReadOnly: false },
        ],
      },
    });
    const handle: DockerHandle = { backend: "docker", containerId: container.id, containerName: name, mode: "runner", nonce: payload.nonce };
    const demux = new OutputDemuxer({ rawLogPath: request.rawLogPath, eventsPath: request.eventsPath, nonce: payload.nonce, masks: payload.masks });
    const { output } = await start(container, demux, JSON.stringify(payload));
    return supervise({ container, handle, demux, output });
  }

  async function launchContainer(request: LaunchRequest): Promise<RunningTry> {
    const args = request.payload.operator.args as unknown as ContainerArgs;
    if (typeof args.image !== "string" || !args.image) throw new DockerError("invalid_task", `container task "${request.key.taskId}": image is missing after rendering; check its template`);
    const info = await ensureImage(docker, args.image, args.pull ?? "missing", (l) => note(request, l));
    const plan = planContainer(request, info, args);
    const name = containerName(request.key);
    const container = await createOnce(docker, { ...plan.create, name, Labels: { ...tryLabels(request, "container", owner), [LABELS.autoRemove]: plan.autoRemove } });
    if (plan.xcom) await prepareXcomDir(container);
    const handle: ContainerHandle = {
      backend: "docker", containerId: container.id, containerName: name, mode: "container", nonce: null,
      autoRemove: plan.autoRemove, xcom: plan.xcom,
    };
    const masks = [...request.payload.masks, ...Object.values(args.privateEnv ?? {}).map(String)];
    const demux = new OutputDemuxer({ rawLogPath: request.rawLogPath, eventsPath: request.eventsPath, nonce: null, masks });
    const { output } = await start(container, demux, null);
    const pid = await container.inspect().then((i) => i.State.Pid, () => 0);
    demux.writeEvent(startedEvent(pid), 1);
    const settings = { autoRemove: plan.autoRemove, xcom: plan.xcom, secretsFile: plan.secretsFile };
    return supervise({ container, handle, demux, output, onEnded: finishContainer(container, demux, request, settings) });
  }

  async function find(h: Partial<DockerHandle>, key: LaunchRequest["key"]): Promise<Docker.Container | null> {
    if (typeof h.containerId === "string") {
      const c = docker.getContainer(h.containerId);
      if (await c.inspect().then(() => true, () => false)) return c;
    }
    const list = await docker.listContainers({ all: true, filters: { label: [
      `${LABELS.owner}=${owner}`, `${LABELS.dag}=${key.dagId}`, `${LABELS.task}=${key.taskId}`, `${LABELS.run}=${key.runId}`, `${LABELS.try}=${key.tryNumber}`,
      ...((key.mapIndex ?? -1) >= 0 ? [`${LABELS.mapIndex}=${key.mapIndex}`] : []),
    ] } });
    const id = list[0]?.Id;
    return id ? docker.getContainer(id) : null;
  }

  return {
    name: "docker",
    async check() {
      try {
        await pingEngine(docker);
        return { ok: true };
      } catch (err) {
        return { ok: false, hint: messageOf(err) };
      }
    },
    async launch(request) {
      prepareTryFiles(request);
      return request.payload.operator.kind === "container" ? launchContainer(request) : launchRunner(request);
    },
    async adopt(handle: TryHandle, request) {
      const h = handle as Partial<ContainerHandle>;
      const container = await find(h, request.key);
      if (!container) return null;
      const state = await container.inspect();
      const mode = h.mode ?? (state.Config.Labels?.[LABELS.mode] === "container" ? "container" : "runner");
      const full = request as Partial<LaunchRequest>;
      const masks = full.payload?.masks ?? [];
      const demux = new OutputDemuxer(
        { rawLogPath: request.rawLogPath, eventsPath: request.eventsPath, nonce: h.nonce ?? null, masks },
        await writtenSoFar(request.rawLogPath, request.eventsPath),
      );
      // Replays the output from the start; the demuxer skips what the files already hold.
      const logs = (await container.logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      const output = pipeOutput(docker, logs, demux);
      const adopted: DockerHandle = { ...h, backend: "docker", containerId: state.Id, containerName: state.Name.replace(/^\//, ""), mode, nonce: h.nonce ?? null };
      if (mode === "runner") return supervise({ container, handle: adopted, demux, output });
      const secretsFile = secretsFileOf(request.tryDir);
      const settings = { autoRemove: h.autoRemove ?? "force", xcom: h.xcom ?? true, secretsFile: existsSync(path.dirname(secretsFile)) ? secretsFile : null };
      const scratchDir = full.scratchDir ?? path.join(request.tryDir, "scratch");
      return supervise({ container, handle: adopted, demux, output, onEnded: finishContainer(container, demux, { scratchDir, key: request.key }, settings) });
    },
    async close() {},
  };
}
