import { bash, dag, empty, type Task, type TriggerRule } from "airlock";

// Every trigger rule, decided on the states of a task's direct upstream tasks. Three sources end in the three
// final states: "ok" succeeds, "broken" fails, "nothing_new" is skipped (exit 99). Each rule_* task uses a rule
// that lets it run; each not_* task uses a rule that does not. The run succeeds because its only leaf, "report"
// (all_done), succeeds: as in Airflow, the leaves decide a run's state.
export default dag({
  id: "trigger_rules",
  description: "all_success, all_failed, all_done, one_success, one_failed, none_failed, none_skipped, always",
  tags: ["example", "trigger-rules"],
}, () => {
  const ok = bash({ id: "ok", command: "echo fine" });
  const broken = bash({ id: "broken", command: "echo 'this one fails' >&2; exit 3" });
  const nothingNew = bash({ id: "nothing_new", command: "echo 'nothing new'; exit 99" });

  /** A task with `triggerRule` that runs after each of `upstream`. */
  const after = (upstream: Task[], id: string, triggerRule: TriggerRule): Task => {
    const task = bash({ id, triggerRule, command: `echo "${id} ran"` });
    for (const u of upstream) u.then(task);
    return task;
  };

  const ran = [
    after([ok], "rule_all_success", "all_success"),
    after([broken], "rule_all_failed", "all_failed"),
    after([ok, broken, nothingNew], "rule_all_done", "all_done"),
    after([ok, broken], "rule_one_success", "one_success"),
    after([ok, broken], "rule_one_failed", "one_failed"),
    after([ok, nothingNew], "rule_none_failed", "none_failed"),
    after([ok, broken], "rule_none_skipped", "none_skipped"),
    after([broken, nothingNew], "rule_always", "always"),
  ];
  const didNotRun = [
    after([broken], "not_all_success", "all_success"), // upstream_failed
    after([nothingNew], "not_all_success_after_skip", "all_success"), // skipped
    after([ok], "not_all_failed", "all_failed"), // skipped
    after([ok], "not_one_failed", "one_failed"), // skipped
    after([ok, broken], "not_none_failed", "none_failed"), // upstream_failed
    after([nothingNew], "not_none_skipped", "none_skipped"), // skipped
  ];

  const report = empty({ id: "report", triggerRule: "all_done" });
  for (const t of [...ran, ...didNotRun]) t.then(report);
});
