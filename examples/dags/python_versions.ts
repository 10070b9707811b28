import { dag, fn, python } from "airlock";

// One DAG, two conflicting Python stacks: each task imports numpy from its own sealed Python environment
// (examples/environments/numpy1 and numpy2, each a requirements.txt plus the requirements.lock resolved from it).
// The task code is jobs/numpy_report.py next to this file, called as report(context, **kwargs).
// Build the environments with `airlock env build numpy1 numpy2`, or let the first run do it.
// The same DAG runs on the process, sandbox and docker backends: airlock dags test python_versions --backend sandbox

/** What a task reported. */
interface Report {
  label: string;
  day: string;
  numpy: string;
  python: string;
  sum: number;
}

export default dag({
  id: "python_versions",
  description: "numpy 1.26 and numpy 2.2 in one DAG, each from its own Python environment",
  tags: ["example", "environments", "python"],
}, () => {
  const legacy = python({
    id: "numpy1",
    callable: "jobs/numpy_report.py:report",
    kwargs: { label: "legacy", day: "{{ ds }}" },
    environment: "numpy1",
  });
  const current = python({
    id: "numpy2",
    callable: "jobs/numpy_report.py:report",
    kwargs: { label: "current", day: "{{ ds }}" },
    environment: "numpy2",
  });
  const compare = fn({
    id: "compare",
    run: async (ctx) => {
      const a = ctx.xcom.pull<Report>("numpy1");
      const b = ctx.xcom.pull<Report>("numpy2");
      const major = (v: string) => v.split(".")[0];
      if (major(a.numpy) === major(b.numpy)) throw new Error(`both tasks saw numpy ${a.numpy}: the environments are not isolated`);
      ctx.log.info(`numpy ${a.numpy} and numpy ${b.numpy}, both summed to ${a.sum}`);
      return { numpy1: a.numpy, numpy2: b.numpy };
    },
  });
  legacy.then(compare);
  current.then(compare);
});
