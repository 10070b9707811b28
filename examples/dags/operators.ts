import { bash, dag, empty, fn } from "airlock";

// The basic operators side by side: bash (with env and cwd; its XCom is the last line it prints; exit 99 skips),
// fn (a TypeScript function; its return value is the XCom) and empty (does nothing; joins and fans out).
export default dag({
  id: "operators",
  description: "bash, fn and empty: XComs, env and cwd, and skipping with exit 99",
  params: { name: "world" },
  tags: ["example", "operators"],
}, () => {
  const start = empty({ id: "start" });

  // env values and cwd are templated like the command. The task's XCom is "hello world from /tmp".
  const greet = bash({
    id: "greet",
    command: 'echo "preparing..."; echo "$GREETING from $(pwd)"',
    env: { GREETING: "hello {{ params.name }}" },
    cwd: "/tmp",
  });

  // Exit code 99 marks the task skipped instead of failed (as in Airflow); tasks that need it are skipped too.
  const nothingToDo = bash({ id: "nothing_to_do", command: 'echo "no new files today"; exit 99' });
  const processFiles = bash({ id: "process_files", command: "echo processing" });

  // An fn task reads the context: params, dates, upstream XComs. Its JSON return value is its XCom.
  const summarize = fn({
    id: "summarize",
    run: async (ctx) => {
      const greeting = ctx.xcom.pull<string>("greet");
      ctx.log.info("summarizing for", ctx.ds);
      return { greeting, words: greeting.split(" ").length, ds: ctx.ds, tryNumber: ctx.tryNumber };
    },
  });

  // "none_failed" joins a branch that was skipped without being skipped itself.
  const done = empty({ id: "done", triggerRule: "none_failed" });

  start.then([greet, nothingToDo]);
  greet.then(summarize);
  nothingToDo.then(processFiles);
  summarize.then(done);
  processFiles.then(done);
});
