/**
 * Supervising one try's container from start (or adoption) to removal: wait for it to end, drain its output,
 * record exit code, OOM flag and log tail as evidence, then remove it, so no container outlives its try.
 */
import type Docker from "dockerode";
import type { ExitInfo, RunningTry, TryHandle } from "../types.js";
import { messageOf } from "./errors.js";
import type { OutputDemuxer } from "./output.js";

/** What the docker backend stores to adopt a try after a restart. */
export interface DockerHandle extends TryHandle {
  backend: "docker";
  containerId: string;
  containerName: string;
  /** "runner": Airlock's runner in an environment image; "container": a user's image (the container operator). */
  mode: "runner" | "container";
  /** Tag that marks event lines on stdout (runner mode). Not a secret: it only keeps task output from forging events. */
  nonce: string | null;
}

/** Called once the container has ended and its output is drained; returns whether to remove it. */
export type OnEnded = (exit: ExitInfo, state: Docker.ContainerInspectInfo) => Promise<{ remove: boolean; exit?: ExitInfo }>;

/** Options of `supervise`. */
export interface SuperviseOptions {
  container: Docker.Container;
  handle: DockerHandle;
  demux: OutputDemuxer;
  /** Resolves when the attached or followed output stream has ended. */
  output: Promise<void>;
  onEnded?: OnEnded;
  /** Called after removal (e.g. to delete a secrets file). */
  cleanup?: () => Promise<void> | void;
}

async function waitForEnd(container: Docker.Container): Promise<void> {
  try {
    await container.wait();
  } catch {
    // The long poll can break (engine restart, proxy timeout): fall back to polling until it is not running.
    for (;;) {
      const state = await container.inspect().then((i) => i.State, () => undefined);
      if (!state || !state.Running) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function evidence(state: Docker.ContainerInspectInfo | undefined, demux: OutputDemuxer, killed: string | null): string {
  const parts: string[] = [];
  if (state) {
    const memory = state.HostConfig?.Memory;
    parts.push(`container ${state.Id.slice(0, 12)} (${state.Config.Image}) exited with code ${state.State.ExitCode}`);
    if (state.State.OOMKilled) parts.push(`killed for exceeding its memory limit${memory ? ` of ${Math.round(memory / 1024 / 1024)} MiB` : ""}`);
    if (state.State.Error) parts.push(`engine error: ${state.State.Error}`);
  } else parts.push("the container was gone before its state could be read");
  if (killed) parts.push(`killed: ${killed}`);
  const tail = demux.tail.slice(-20);
  return `${parts.join("; ")}${tail.length ? `\nlast log lines:\n${tail.join("\n")}` : ""}`;
}

/** Supervises a started (or adopted) container; `exited` resolves after it is removed (when it should be). */
export function supervise(o: SuperviseOptions): RunningTry {
  let killed: string | null = null;
  const exited = (async (): Promise<ExitInfo> => {
    await waitForEnd(o.container);
    // Output may still be in flight after the engine reports the exit; bounded so a stuck stream cannot hang us.
    await Promise.race([o.output.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
    o.demux.close();
    const state = await o.container.inspect().catch(() => undefined);
    const code = state?.State.ExitCode ?? null;
    const oomKilled = state?.State.OOMKilled ?? false;
    let exit: ExitInfo = killed
      ? { code: null, signal: "SIGKILL", oomKilled, detail: evidence(state, o.demux, killed) }
      : { code, signal: null, oomKilled, ...(code !== 0 || oomKilled ? { detail: evidence(state, o.demux, null) } : {}) };
    let remove = true;
    if (o.onEnded && state) {
      try {
        const decided = await o.onEnded(exit, state);
        remove = decided.remove || killed !== null;
        exit = decided.exit ?? exit;
      } catch (err) {
        exit = { ...exit, detail: `${exit.detail ?? ""}\ncollecting the container's result failed: ${messageOf(err)}`.trim() };
      }
    }
    if (remove) await o.container.remove({ force: true, v: true }).catch(() => undefined);
    await o.cleanup?.();
    return exit;
  })();
  return {
    handle: o.handle,
    exited,
    async kill(reason: string) {
      killed ??= reason;
      await o.container.kill({ signal: "SIGKILL" }).catch(() => undefined);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000).unref())]);
    },
  };
}

/** Streams a container's multiplexed output (attach or logs) into the demuxer; resolves when the stream ends. */
export function pipeOutput(docker: Docker, stream: NodeJS.ReadableStream, demux: OutputDemuxer): Promise<void> {
  const { stdout, stderr } = demux.streams();
  docker.modem.demuxStream(stream, stdout, stderr);
  return new Promise((resolve) => {
    stream.on("end", () => resolve());
    stream.on("close", () => resolve());
    stream.on("error", () => resolve());
  });
}
