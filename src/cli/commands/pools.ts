/** `airlock pools list|set|delete`. */
import { Command } from "commander";
import { deletePool, listPools, setPool } from "../../core/pools.js";
import { withContext } from "../context.js";
import { plural, printJson, printTable, UsageError } from "../output.js";
import { listJson } from "../json-shapes.js";
import { auditCli } from "../../core/audit.js";

/** The `pools` command group. */
export function poolsCommand(): Command {
  const pools = new Command("pools").description("pools: named slot counts that bound how many of their tasks run at once, across workers");
  pools.command("list").description("pools with their slots, running and queued tasks").option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const list = await listPools(ctx);
        if (o.json) return printJson(listJson(list));
        printTable(list.map((p) => ({ pool: p.name, slots: p.slots, running: p.running, queued: p.queued, description: p.description ?? (p.defined ? "" : "(not created: default slots)") })), ["pool", "slots", "running", "queued", "description"]);
      });
    });
  pools.command("set <name> <slots>").description("create a pool or change its slots (0 holds its tasks queued)").option("--description <text>")
    .option("--json", "print JSON")
    .action(async (name: string, slotsArg: string, o: { description?: string; json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const slots = Number(slotsArg);
        if (!/^\d+$/.test(slotsArg) || !Number.isSafeInteger(slots)) throw new UsageError(`slots "${slotsArg}" is not a whole number`, `e.g. airlock pools set ${name} 4`);
        const pool = await setPool(ctx, name, slots, o.description);
        await auditCli(ctx, { action: "pool.set", target: name, details: { slots: pool.slots } });
        if (o.json) printJson(pool);
        else process.stdout.write(`pool ${name}: ${plural(pool.slots, "slot")}\n`);
      });
    });
  pools.command("delete <name>").description("delete a pool that no queued or running task uses").action(async (name: string) => {
    await withContext(false, async (ctx) => {
      await deletePool(ctx, name);
      await auditCli(ctx, { action: "pool.delete", target: name });
      process.stdout.write(`pool ${name} deleted\n`);
    });
  });
  return pools;
}
