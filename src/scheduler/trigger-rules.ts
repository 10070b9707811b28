/** Airflow's trigger rules: given the states of a task's direct upstream tasks, what happens to it now. */
import { assertExhaustive } from "../core/errors.js";
import type { TriggerRule } from "../sdk/types.js";
import type { TaskState } from "../store/types.js";

/** The decision for a task waiting in state "none". */
export type RuleDecision = "run" | "wait" | "skip" | "upstream_failed";

/** Applies `rule` to the upstream states. */
export function evaluateTriggerRule(rule: TriggerRule, upstream: TaskState[]): RuleDecision {
  const n = upstream.length;
  if (n === 0) return "run";
  let success = 0;
  let skipped = 0;
  let failed = 0;
  for (const s of upstream) {
    if (s === "success") success++;
    else if (s === "skipped") skipped++;
    else if (s === "failed" || s === "upstream_failed") failed++;
  }
  const done = success + skipped + failed;
  switch (rule) {
    case "all_success":
      if (failed > 0) return "upstream_failed";
      if (skipped > 0) return "skip";
      return success === n ? "run" : "wait";
    case "all_failed":
      if (success + skipped > 0) return "skip";
      return done === n ? "run" : "wait";
    case "all_done":
      return done === n ? "run" : "wait";
    case "one_success":
      if (success > 0) return "run";
      if (done === n) return failed > 0 ? "upstream_failed" : "skip";
      return "wait";
    case "one_failed":
      if (failed > 0) return "run";
      return done === n ? "skip" : "wait";
    case "none_failed":
      if (failed > 0) return "upstream_failed";
      return done === n ? "run" : "wait";
    case "none_skipped":
      if (skipped > 0) return "skip";
      return done === n ? "run" : "wait";
    case "always":
      return "run";
    default:
      return assertExhaustive(rule, "trigger rule");
  }
}
