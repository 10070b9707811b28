/**
 * timeSensor and httpSensor in modes "poke" and "reschedule": the orchestrator checks their trigger itself (it is
 * data, not task code), holding the try — like externalTaskSensor — until it is met, fails or times out.
 */
import type { AirlockContext } from "../core/context.js";
import type { TryResult } from "../executor/outcome.js";
import { checkTrigger, type TriggerSpec } from "./checks.js";

/** Pokes `spec` until it is met; in mode "reschedule" pokes once. `alive()` false (marked, cleared) stops it. */
export async function pokeTrigger(ctx: AirlockContext, spec: TriggerSpec, reschedule: boolean, log: (line: string) => void, alive: () => Promise<boolean>): Promise<TryResult> {
  for (;;) {
    const r = await checkTrigger(ctx, spec);
    if ("failed" in r) return { kind: "failed", error: r.failed };
    log(r.met ? r.note : `poking ${spec.target}: ${r.note}`);
    if (r.met) return { kind: "success", xcomJson: JSON.stringify(r.xcom ?? null), branch: null };
    if (Date.now() >= Date.parse(spec.deadline)) {
      const message = `${spec.target} was not ready by the sensor's timeout (${spec.deadline})`;
      return spec.softFail ? { kind: "skipped", reason: `${message} (soft fail)` } : { kind: "failed", error: { type: "SensorTimeout", message } };
    }
    if (reschedule) return { kind: "reschedule", reason: r.note };
    const wait = Math.min(spec.pokeIntervalMs, Math.max(0, Date.parse(spec.deadline) - Date.now()), spec.kind === "time" ? Math.max(0, Date.parse(spec.at) - Date.now()) : Infinity);
    await new Promise((resolve) => setTimeout(resolve, wait));
    if (!(await alive())) return { kind: "failed", error: { type: "TaskKilled", message: "the task instance was marked or cleared while it waited" } };
  }
}
