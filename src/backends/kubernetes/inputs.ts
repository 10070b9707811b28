/**
 * The large-input channel, the mirror of the large-result one: upstream XComs too big for the payload Secret
 * (≥ 1 MiB, or what no longer fits beside the rest) are streamed into the running task container through `exec`
 * (stdin to `cat`), checked with sha256 inside the pod, and then released with a mark the container's command waits
 * for before it starts the runner. Nothing large ever sits in a Kubernetes object.
 */
import { createReadStream } from "node:fs";
import { Writable } from "node:stream";
import type { KubeClient } from "./client.js";
import { KubernetesError, messageOf } from "./errors.js";
import { execIn } from "./result.js";
import { INPUTS_READY, POD_INPUTS, type PodInput } from "./runner-pod.js";

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Whether the pod's task was released already (an adopted try whose inputs an earlier orchestrator delivered). */
async function released(client: KubeClient, pod: string): Promise<boolean> {
  let out = "";
  const sink = new Writable({ write: (c: Buffer, _e, cb) => { out += c.toString("utf8"); cb(); } });
  await execIn(client, pod, ["/bin/sh", "-c", `if [ -e ${quote(INPUTS_READY)} ]; then echo released; else echo waiting; fi`], sink, 30_000);
  return out.trim() === "released";
}

/**
 * Copies every input into the pod, verifies it there, and releases the task; retries a failed copy twice. Returns
 * false when there was nothing to do (the task had been released before).
 */
export async function deliverInputs(client: KubeClient, pod: string, inputs: PodInput[], adopted = false): Promise<boolean> {
  if (adopted && await released(client, pod)) return false;
  for (const input of inputs) {
    const timeoutMs = 60_000 + Math.ceil(input.size / (8 * 1024 * 1024)) * 1000;
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const part = `${input.podPath}.part`;
        await execIn(client, pod, ["/bin/sh", "-c", `mkdir -p ${quote(POD_INPUTS)} && cat > ${quote(part)}`], null, timeoutMs, createReadStream(input.hostPath));
        let out = "";
        const sink = new Writable({ write: (c: Buffer, _e, cb) => { out += c.toString("utf8"); cb(); } });
        await execIn(client, pod, ["sha256sum", part], sink, 60_000);
        const sum = out.trim().split(/\s+/)[0];
        if (sum !== input.sha256) throw new Error(`the copy of ${input.size} bytes has sha256 ${sum ?? "?"}, not ${input.sha256}`);
        await execIn(client, pod, ["mv", part, input.podPath], null, 30_000);
        lastError = undefined;
        break;
      } catch (err) {
        lastError = err;
      }
    }
    if (lastError) {
      throw new KubernetesError("inputs_failed", `copying the ${Math.round(input.size / 1024)} KiB XCom of upstream task "${input.taskId}" into pod ${pod} failed three times (${messageOf(lastError)}); check that Airlock may create pods/exec in the namespace and that the image has sha256sum`, { cause: lastError });
    }
  }
  await execIn(client, pod, ["/bin/sh", "-c", `: > ${quote(INPUTS_READY)}`], null, 30_000);
  return true;
}
