import { bash, chain, dag } from "airlock";

// Setup and teardown (Airflow's meaning): "create_workspace" is a setup and "remove_workspace" its teardown. The
// teardown runs once the work between them is done, whatever happened to it, as long as the setup succeeded; a
// failed teardown does not fail the run (onFailureFailDagrun: true would make it). The run's state is decided by
// the work: with conf {"fail": true} "crunch" fails, the workspace is still removed, and the run fails.
// Clearing "crunch" (UI or API) clears the setup and teardown with it, so the work gets a fresh workspace again.
//   airlock dags test setup_teardown --conf '{"fail": true}'
export default dag({
  id: "setup_teardown",
  description: "a scratch workspace created before the work and removed after it, whatever happened",
  params: { fail: false, root: "/tmp/airlock-setup-teardown" },
  tags: ["example", "setup-teardown"],
}, () => {
  const create = bash({ id: "create_workspace", setup: true, command: "mkdir -p '{{ params.root }}/{{ run_id }}' && echo created" });
  const fetch = bash({ id: "fetch", command: "seq 1 5 > '{{ params.root }}/{{ run_id }}/numbers' && echo fetched" });
  const crunch = bash({
    id: "crunch",
    command: "if [ '{{ params.fail }}' = 'true' ]; then echo 'crunch failed' >&2; exit 1; fi; awk '{ s += $1 } END { print s }' '{{ params.root }}/{{ run_id }}/numbers'",
  });
  const remove = bash({ id: "remove_workspace", teardown: true, command: "rm -r '{{ params.root }}/{{ run_id }}' && echo removed" });
  chain(create, fetch, crunch, remove);
});
