/** `airlock workers list` and `airlock routes list|set|rm`. */
import os from "node:os";
import { Command } from "commander";
import { listWorkerViews, removeRoute, setRoute } from "../../fleet/actions.js";
import { withContext } from "../context.js";
import { printJson, printTable } from "../output.js";
import { listJson } from "../json-shapes.js";
import { auditCli, dagOfTarget } from "../../core/audit.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];
const ago = (ms: number) => (ms < 1000 ? `${ms} ms ago` : ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : `${Math.round(ms / 60_000)} min ago`);

/** The `workers` command group. */
export function workersCommand(): Command {
  const workers = new Command("workers").description("the worker fleet");
  workers.command("list").description("live, lost and stopped workers: host, queues, backends, heartbeat, running tries").option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const list = await listWorkerViews(ctx);
        if (o.json) return printJson(listJson(list));
        printTable(list.map((w) => ({
          worker: w.workerId, host: w.hostname, state: w.state, queues: w.queues.join(","), backends: w.backends.join(","),
          version: w.version, started: w.startedAt, heartbeat: ago(w.silentForMs),
          running: w.runningTries.map((t) => `${t.dagId}.${t.taskId}#${t.tryNumber}`).join(" "),
        })), ["worker", "host", "state", "queues", "backends", "version", "started", "heartbeat", "running"]);
      });
    });
  return workers;
}

/** The `routes` command group. */
export function routesCommand(): Command {
  const routes = new Command("routes").description("the routing map: which queue (server) runs a DAG or one task");
  routes.command("list").description("every route, with who set it and when").option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const list = await ctx.store.listRoutes();
        if (o.json) return printJson(listJson(list));
        printTable(list.map((r) => ({ target: r.target, queue: r.queue, fallbacks: r.fallbacks.join(","), by: r.updatedBy, at: r.updatedAt })), ["target", "queue", "fallbacks", "by", "at"]);
      });
    });
  routes.command("set <target> <queue>").description("route a DAG (<dag>) or one task (<dag>.<task>) to a queue; takes effect at once")
    .option("--fallback <queue>", "queue used while none of the route's queue's workers is live (repeatable, in order)", collect)
    .option("--json", "print the route as JSON")
    .action(async (target: string, queue: string, o: { fallback?: string[]; json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const r = await setRoute(ctx, target, queue, o.fallback ?? [], `${os.userInfo().username}@${os.hostname()} (cli)`);
        await auditCli(ctx, { action: "route.set", dagId: r.dagId, target: r.target, details: { queue: r.queue, fallbacks: r.fallbacks } });
        if (o.json) return printJson(r);
        process.stdout.write(`${r.target} → ${r.queue}${r.fallbacks.length > 0 ? ` (fallback ${r.fallbacks.join(", ")})` : ""}\n`);
      });
    });
  routes.command("rm <target>").description("remove the route of a DAG or task (waiting tasks go back to their own queue)")
    .action(async (target: string) => {
      await withContext(false, async (ctx) => {
        await removeRoute(ctx, target);
        await auditCli(ctx, { action: "route.rm", dagId: dagOfTarget(target), target });
        process.stdout.write(`removed the route of ${target}\n`);
      });
    });
  return routes;
}
