/** `airlock standalone | scheduler | api | worker`: long-running parts, stopped cleanly by SIGINT/SIGTERM. */
import { Command } from "commander";
import { createContext } from "../../core/context.js";
import { QUEUE_NAME } from "../../fleet/actions.js";
import { startOrchestrator, type Parts } from "../../services/orchestrator.js";
import { config } from "../context.js";
import { plural, reportError, UsageError } from "../output.js";

async function serve(name: string, parts: Parts, o: { port?: string; host?: string; queue?: string[] }): Promise<void> {
  try {
    const cfg = await config();
    const port = o.port === undefined ? undefined : Number(o.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port "${o.port}" is not a port`, "e.g. --port 8080 (0 picks a free port)");
    const badQueue = (o.queue ?? []).find((q) => !QUEUE_NAME.test(q));
    if (badQueue !== undefined) throw new UsageError(`--queue "${badQueue}" is not a queue name`, "Use letters, digits and _ . : - (at most 200), e.g. --queue server-a");
    const ctx = await createContext(cfg);
    const orch = await startOrchestrator(ctx, parts, { port, host: o.host, queues: o.queue });
    const errors = await ctx.store.listImportErrors();
    const { total } = await ctx.store.listDags({ limit: 1 });
    process.stdout.write(`airlock ${name} running (store ${cfg.store.startsWith("sqlite:") ? cfg.store : "postgres"}; dags folder ${cfg.dagsFolder})\n`);
    if (parts.parse) process.stdout.write(`  ${plural(total, "DAG")}, ${plural(errors.length, "import error")}\n`);
    if (orch.apiUrl) process.stdout.write(`  web UI and API: ${orch.apiUrl}/\n`);
    process.stdout.write("  press Ctrl-C to stop\n");
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`\n${signal}: stopping; running tries keep running and are adopted by the next worker started on this host\n`);
      await orch.stop();
      process.exit(0);
    };
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
  } catch (err) {
    // Exit now: a part that failed to start (a taken port) must not leave the process serving half of itself.
    process.exit(reportError(err, false));
  }
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The service commands. */
export function serviceCommands(): Command[] {
  return [
    new Command("standalone").description("scheduler + executor + API/UI on the embedded store, in one process")
      .option("--port <port>", "API/UI port (0 picks a free one)").option("--host <host>", "address to listen on (default 127.0.0.1)")
      .action((o) => serve("standalone", { parse: true, scheduler: true, executor: true, api: true }, o)),
    new Command("scheduler").description("parse DAG files and schedule runs (run workers separately)")
      .action((o) => serve("scheduler", { parse: true, scheduler: true, executor: false, api: false }, o)),
    new Command("api").description("serve the REST API and web UI").option("--port <port>", "port").option("--host <host>", "address")
      .action((o) => serve("api", { parse: false, scheduler: false, executor: false, api: true }, o)),
    new Command("worker").description("run queued tasks of some queues").option("--queue <queue>", "queue to serve (repeatable)", collect)
      .action((o) => serve("worker", { parse: false, scheduler: false, executor: true, api: false }, o)),
  ];
}
