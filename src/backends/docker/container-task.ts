/**
 * The container operator on the docker backend: runs the user's image itself (no runner), passes privateEnv
 * through a read-only mounted file (never the container's spec), and turns the container's end into the try's
 * `result` or `error` event, with the XCom from /airlock/xcom/return.json or the last stdout line.
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type Docker from "dockerode";
import tar from "tar-stream";
import { INLINE_RESULT_LIMIT, PROTOCOL_VERSION, type TaskEvent, type XComValue } from "../../runner/protocol.js";
import type { ExitInfo, LaunchRequest } from "../types.js";
import { followProgress } from "./client.js";
import { DockerError, messageOf } from "./errors.js";
import type { ContainerOptions } from "../../sdk/container.js";
import type { TaskOptions } from "../../sdk/types.js";
import type { OnEnded } from "./lifecycle.js";
import type { OutputDemuxer } from "./output.js";
import { limits, parseSize } from "./spec.js";
import { SecretInSpecError, planSecretArgv } from "../secret-argv.js";

/** Where the container may write its XCom. */
export const XCOM_FILE = "/airlock/xcom/return.json";
const SECRETS_TARGET = "/airlock/secrets/env";
const COMMAND_TARGET = "/airlock/secrets/command";

/** The container operator's arguments after the executor rendered them (the SDK's options without the task ones). */
export type ContainerArgs = Omit<ContainerOptions, keyof TaskOptions>;

/** Splits a command string into words like a POSIX shell (quotes and backslashes), without running a shell. */
export function splitWords(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command.charAt(i);
    const next = command.charAt(i + 1);
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && next !== "" && '"\\$`'.includes(next)) { word += next; i++; }
      else word += c;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      inWord = true;
      if (c === "'" || c === '"') quote = c;
      else if (c === "\\" && next !== "") { word += next; i++; }
      else word += c;
    }
  }
  if (quote) throw new DockerError("invalid_task", `command has an unclosed ${quote} quote: ${command}`);
  if (inWord) words.push(word);
  return words;
}

const words = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : splitWords(v));
const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/** Pulls the image as the pull policy says; a missing image under "never" is a clear error. */
export async function ensureImage(docker: Docker, image: string, policy: ContainerArgs["pull"], log: (line: string) => void): Promise<Docker.ImageInspectInfo> {
  const inspect = () => docker.getImage(image).inspect();
  const present = policy === "always" ? undefined : await inspect().catch(() => undefined);
  if (present) return present;
  if (policy === "never") throw new DockerError("image_missing", `image ${image} is not on the Docker host and the task's pull policy is "never"; pull or build it, or set pull: "missing"`);
  try {
    await followProgress(docker, await docker.pull(image), () => undefined);
  } catch (err) {
    throw new DockerError("pull_failed", `pulling image ${image} failed: ${messageOf(err)}; check the name and that the registry is reachable from the Docker host`, { cause: err });
  }
  log(`[airlock] pulled ${image}`);
  return inspect();
}

/** Everything needed to create and later finish a container-operator try. */
export interface ContainerPlan {
  create: Docker.ContainerCreateOptions;
  /** Host file holding privateEnv; removed when the try ends. */
  secretsFile: string | null;
  autoRemove: NonNullable<ContainerArgs["autoRemove"]>;
  xcom: boolean;
}

/** Path of the private-env file of a try (orchestrator-private, inside the try directory). */
export function secretsFileOf(tryDir: string): string {
  return path.join(tryDir, "secrets", "env");
}

/** Plans the container of a container-operator try. */
export function planContainer(request: LaunchRequest, image: Docker.ImageInspectInfo, args: ContainerArgs): ContainerPlan {
  let entrypoint = words(args.entrypoint);
  let cmd = words(args.command);
  // Docker drops the image's CMD when the entrypoint is replaced; keep that rule when we wrap the entrypoint.
  if (!entrypoint) {
    entrypoint = image.Config.Entrypoint ? ([] as string[]).concat(image.Config.Entrypoint) : [];
    cmd ??= image.Config.Cmd ?? [];
  }
  cmd ??= [];
  const mounts: Docker.MountConfig = (args.mounts ?? []).map((m) => m.type === "tmpfs"
    ? { Type: "tmpfs" as const, Target: m.target, Source: "" }
    : { Type: (m.type ?? "bind") as "bind" | "volume", Source: m.source ?? "", Target: m.target, ReadOnly: m.readOnly ?? false });
  let secretsFile: string | null = null;
  const privateFile = (name: string, text: string, target: string) => {
    secretsFile = secretsFileOf(request.tryDir);
    const file = path.join(path.dirname(secretsFile), name);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, text, { mode: 0o600 });
    // Readable by whatever user the image runs as; the folder around it stays private on the host.
    chmodSync(file, 0o644);
    mounts.push({ Type: "bind", Source: file, Target: target, ReadOnly: true });
  };
  let reroute: ReturnType<typeof planSecretArgv>;
  try {
    reroute = planSecretArgv({ words: [...entrypoint, ...cmd], env: args.env ?? {}, secrets: request.payload.masks, fields: { command: "command", env: "env", secretEnv: "privateEnv" } });
  } catch (err) {
    if (err instanceof SecretInSpecError) throw new DockerError("invalid_task", `container task "${request.key.taskId}": ${err.message}`, { cause: err });
    throw err;
  }
  if (reroute) {
    // The script a shell would get with -c is read from a private file: the spec shows only the file's path.
    privateFile("command", reroute.script, COMMAND_TARGET);
    entrypoint = [reroute.shell, COMMAND_TARGET, ...reroute.params];
    cmd = [];
  }
  const priv = Object.entries(args.privateEnv ?? {});
  if (priv.length > 0) {
    privateFile("env", priv.map(([k, v]) => `export ${k}=${shellQuote(String(v))}\n`).join(""), SECRETS_TARGET);
    // A tiny shell wrapper reads the secrets and then becomes the real program: nothing secret in the spec.
    cmd = [...entrypoint, ...cmd];
    entrypoint = ["/bin/sh", "-c", `set -a; . ${SECRETS_TARGET}; set +a; exec "$@"`, "airlock-private-env"];
  }
  const create: Docker.ContainerCreateOptions = {
    Image: args.image,
    Entrypoint: entrypoint,
    Cmd: cmd,
    Env: Object.entries(args.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(args.workingDir ? { WorkingDir: args.workingDir } : {}),
    ...(args.user ? { User: args.user } : {}),
    HostConfig: {
      NetworkMode: request.network === "host" ? "host" : "none",
      Mounts: mounts,
      ...limits(request.resources, { ...(args.memory !== undefined ? { memory: args.memory } : {}), ...(args.cpus !== undefined ? { cpus: args.cpus } : {}) }),
      ...(args.shmSize !== undefined ? { ShmSize: parseSize(args.shmSize) } : {}),
      Init: true,
    },
  };
  return { create, secretsFile, autoRemove: args.autoRemove ?? "force", xcom: args.xcom ?? true };
}

/** Puts an empty, world-writable /airlock/xcom into the created container, so any image and user can write there. */
export async function prepareXcomDir(container: Docker.Container): Promise<void> {
  const pack = tar.pack();
  pack.entry({ name: "airlock/", type: "directory", mode: 0o755 });
  pack.entry({ name: "airlock/xcom/", type: "directory", mode: 0o1777 });
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  await container.putArchive(Buffer.concat(chunks), { path: "/" });
}

async function readXcomFile(container: Docker.Container): Promise<string | undefined> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await container.getArchive({ path: XCOM_FILE });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
  const extract = tar.extract();
  let text: string | undefined;
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      if (entry.header.type === "file") text = Buffer.concat(chunks).toString("utf8");
    }
  })();
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return text;
}

function encode(json: string, request: Pick<LaunchRequest, "scratchDir" | "key">): XComValue {
  if (Buffer.byteLength(json) < INLINE_RESULT_LIMIT) return { inline: JSON.parse(json) as unknown };
  // Same convention as the runner: large results by reference to a file in the scratch directory.
  const rel = path.join(".airlock", `result-${request.key.tryNumber}.json`);
  mkdirSync(path.join(request.scratchDir, ".airlock"), { recursive: true });
  writeFileSync(path.join(request.scratchDir, rel), json);
  return { ref: rel, size: Buffer.byteLength(json), sha256: createHash("sha256").update(json).digest("hex") };
}

/** Settings the end of a container-operator try needs (also recoverable after adoption). */
export interface FinishSettings {
  autoRemove: NonNullable<ContainerArgs["autoRemove"]>;
  xcom: boolean;
  secretsFile: string | null;
}

/** Writes the try's result or error event once the container has ended, and says whether to remove it. */
export function finishContainer(container: Docker.Container, demux: OutputDemuxer, request: Pick<LaunchRequest, "scratchDir" | "key">, s: FinishSettings): OnEnded {
  return async (exit: ExitInfo) => {
    const ok = exit.code === 0 && !exit.oomKilled;
    const remove = s.autoRemove === "force" || (s.autoRemove === "success" && ok);
    if (s.secretsFile) rmSync(path.dirname(s.secretsFile), { recursive: true, force: true });
    // Adopted after the result was already written (the orchestrator died just before removal): nothing to add.
    if (demux.lastSeq >= 2) return { remove };
    let event: TaskEvent;
    const seq = demux.lastSeq + 1;
    if (ok) {
      let value: XComValue = { inline: null };
      if (s.xcom) {
        const file = await readXcomFile(container);
        if (file !== undefined) {
          try {
            value = encode(JSON.stringify(JSON.parse(file)), request);
          } catch (err) {
            throw new DockerError("container_failed", `${XCOM_FILE} is not valid JSON (${messageOf(err)}); write JSON there, or print the XCom as the last stdout line`);
          }
        } else value = { inline: demux.lastStdoutLine };
      }
      event = { seq, type: "result", value };
    } else {
      const tail = demux.tail.slice(-20).join("\n");
      const message = `container exited with code ${exit.code ?? "unknown"}${exit.oomKilled ? " (killed for exceeding its memory limit)" : ""}${tail ? `; last log lines:\n${tail}` : ""}`;
      event = { seq, type: "error", error: { type: "ContainerExited", message } };
    }
    demux.writeEvent(JSON.stringify(event), seq);
    demux.close();
    return { remove };
  };
}

/** The `started` event of a container-operator try (its pid is the container's init on the host). */
export function startedEvent(pid: number): string {
  return JSON.stringify({ seq: 1, type: "started", pid, protocol: PROTOCOL_VERSION } satisfies TaskEvent);
}
