import { bash, branch, dag, empty } from "airlock";

// A branch task returns the id (or ids) of the direct successors to follow; the others are skipped, and so is
// everything that needs them. The join uses "none_failed" so that it runs whichever way the branch went.
//   airlock dags test branching                          # takes the full path
//   airlock dags test branching --conf '{"mode": "incremental"}'
export default dag({
  id: "branching",
  description: "branch chooses between a full and an incremental load; the join runs either way",
  params: { mode: "full" },
  paramsSchema: { type: "object", properties: { mode: { enum: ["full", "incremental"] } } },
  tags: ["example", "branching"],
}, () => {
  const choose = branch({
    id: "choose",
    run: async (ctx) => (ctx.params.mode === "full" ? "full_load" : "incremental_load"),
  });
  const full = bash({ id: "full_load", command: "echo loading everything" });
  const truncate = bash({ id: "truncate_first", command: "echo truncating" });
  const incremental = bash({ id: "incremental_load", command: "echo 'loading rows newer than {{ ds }}'" });
  const join = empty({ id: "join", triggerRule: "none_failed" });
  const publish = bash({ id: "publish", command: "echo 'published after {{ ti.xcom_pull(\"choose\") | join(\",\") }}'" });

  choose.then([full, incremental]);
  full.then(truncate).then(join);
  incremental.then(join);
  join.then(publish);
});
