/** `airlock connections add|list|delete` and `airlock variables set|get|list|delete`. Secret values never print. */
import { Command } from "commander";
import { addConnection, deleteConnection, getVariable, listConnections, listVariables, setVariable } from "../../core/connections.js";
import { deleteVariable } from "../../core/connections.js";
import { withContext } from "../context.js";
import { printJson, printTable, UsageError } from "../output.js";
import { connectionItem, listJson } from "../json-shapes.js";
import { auditCli } from "../../core/audit.js";

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError("nothing on standard input", "Pipe the value in, e.g. `printf %s \"$SECRET\" | airlock ...`");
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

/** The `connections` command group. */
export function connectionsCommand(): Command {
  const c = new Command("connections").description("connections tasks can be granted (secrets encrypted at rest)");
  c.command("add <id>").description("add or replace a connection")
    .option("--uri <uri>", "type://login:password@host:port/schema?extra=1 (a password here shows in process lists: prefer --uri-stdin)")
    .option("--uri-stdin", "read the URI from standard input")
    .option("--type <type>", "connection type, e.g. http, postgres").option("--host <host>").option("--port <port>").option("--login <login>")
    .option("--password-stdin", "read the password from standard input").option("--schema <schema>")
    .option("--extra <json>", "extra fields as a JSON object").option("--description <text>")
    .action(async (id: string, o: { uri?: string; uriStdin?: boolean; type?: string; host?: string; port?: string; login?: string; passwordStdin?: boolean; schema?: string; extra?: string; description?: string }) => {
      await withContext(false, async (ctx) => {
        let extra: Record<string, unknown> | undefined;
        if (o.extra !== undefined) {
          try {
            extra = JSON.parse(o.extra) as Record<string, unknown>;
          } catch {
            throw new UsageError("--extra is not valid JSON", `e.g. --extra '{"headers": {"x-team": "a"}}'`);
          }
        }
        const port = o.port === undefined ? undefined : Number(o.port);
        if (port !== undefined && !Number.isInteger(port)) throw new UsageError(`--port "${o.port}" is not a number`, "e.g. --port 5432");
        const uri = o.uriStdin ? await readStdin() : o.uri;
        if (o.uri && /:\/\/[^/@]*:[^@]+@/.test(o.uri)) process.stderr.write("warning: the password in --uri was visible in the process list; prefer --uri-stdin\n");
        const password = o.passwordStdin ? await readStdin() : undefined;
        if (!uri && !o.host && !o.type) throw new UsageError("give --uri, --uri-stdin, or --type/--host", "e.g. airlock connections add api --uri http://api.internal:8080");
        await addConnection(ctx, { connId: id, uri, connType: o.type, host: o.host, port, login: o.login, password, schema: o.schema, extra, description: o.description });
        const saved = (await listConnections(ctx)).find((c) => c.id === id);
        await auditCli(ctx, { action: "connection.set", target: id, details: { type: saved?.type ?? null, host: saved?.host ?? null } });
        process.stdout.write(`connection ${id} saved\n`);
      });
    });
  c.command("list").description("connections (passwords never shown)").option("--json", "print JSON").action(async (o: { json?: boolean }) => {
    await withContext(Boolean(o.json), async (ctx) => {
      const list = await listConnections(ctx);
      if (o.json) return printJson(listJson(list.map(connectionItem)));
      printTable(list.map((x) => ({ id: x.id, type: x.type ?? "", host: x.host ?? "", port: x.port ?? "", login: x.login ?? "", password: x.hasPassword ? "***" : "", source: x.source })), ["id", "type", "host", "port", "login", "password", "source"]);
    });
  });
  c.command("delete <id>").description("delete a stored connection").action(async (id: string) => {
    await withContext(false, async (ctx) => {
      await deleteConnection(ctx, id);
      await auditCli(ctx, { action: "connection.delete", target: id });
      process.stdout.write(`connection ${id} deleted\n`);
    });
  });
  return c;
}

/** The `variables` command group. */
export function variablesCommand(): Command {
  const v = new Command("variables").description("variables tasks can be granted (encrypted at rest)");
  v.command("set <key> [value]").description("set a variable (value from --stdin keeps secrets out of process lists)")
    .option("--stdin", "read the value from standard input").option("--secret", "mask the value in task logs (default for names like *password*, *token*)")
    .option("--description <text>")
    .action(async (key: string, value: string | undefined, o: { stdin?: boolean; secret?: boolean; description?: string }) => {
      await withContext(false, async (ctx) => {
        const v2 = o.stdin ? await readStdin() : value;
        if (v2 === undefined) throw new UsageError("no value given", `airlock variables set ${key} <value>, or --stdin`);
        await setVariable(ctx, key, v2, { secret: o.secret, description: o.description });
        await auditCli(ctx, { action: "variable.set", target: key, details: { secret: (await listVariables(ctx)).find((x) => x.key === key)?.isSecret ?? false } });
        process.stdout.write(`variable ${key} set\n`);
      });
    });
  v.command("get <key>").description("print a variable's value").option("--json", "print JSON").action(async (key: string, o: { json?: boolean }) => {
    await withContext(Boolean(o.json), async (ctx) => {
      const value = await getVariable(ctx, key);
      if (o.json) printJson({ key, value });
      else process.stdout.write(`${value}\n`);
    });
  });
  v.command("list").description("variables (secret values hidden)").option("--json", "print JSON").action(async (o: { json?: boolean }) => {
    await withContext(Boolean(o.json), async (ctx) => {
      const list = await listVariables(ctx);
      if (o.json) return printJson(listJson(list));
      printTable(list.map((x) => ({ key: x.key, value: x.isSecret ? "***" : x.value, source: x.source })), ["key", "value", "source"]);
    });
  });
  v.command("delete <key>").description("delete a stored variable").action(async (key: string) => {
    await withContext(false, async (ctx) => {
      await deleteVariable(ctx, key);
      await auditCli(ctx, { action: "variable.delete", target: key });
      process.stdout.write(`variable ${key} deleted\n`);
    });
  });
  return v;
}
