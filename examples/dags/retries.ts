import { dag, fn } from "airlock";

// Retries with exponential backoff. "flaky" fails on its first two tries and succeeds on the third; the delays
// are 200 ms, then 400 ms (doubling, capped by maxRetryDelay). Each try has its own log:
//   airlock tasks logs retries <run> flaky --try 1
// The delays are short so the example runs quickly; production DAGs use seconds or minutes.
export default dag({
  id: "retries",
  description: "a task that succeeds on its third try, with exponential backoff between tries",
  defaultArgs: { retries: 3, retryDelay: "200ms", retryExponentialBackoff: true, maxRetryDelay: "5s" },
  tags: ["example", "retries"],
}, () => {
  const flaky = fn({
    id: "flaky",
    // A try that runs longer than this is killed with every process it started, and counts as failed.
    executionTimeout: "1m",
    run: async (ctx) => {
      ctx.log.info(`try ${ctx.tryNumber} starting`);
      if (ctx.tryNumber < 3) throw new Error(`the upstream service is not ready yet (try ${ctx.tryNumber})`);
      return { succeededOnTry: ctx.tryNumber };
    },
  });
  const after = fn({ id: "after", retries: 0, run: async (ctx) => ctx.xcom.pull<{ succeededOnTry: number }>("flaky").succeededOnTry });
  flaky.then(after);
});
