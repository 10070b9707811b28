/** Runs one callback of a task or DAG (a notifier or a function), sealed like the task itself. */
import { pathToFileURL } from "node:url";
import { isDag } from "../../sdk/dag.js";
import { callbackAt, type CallbackContext, type CallbackEvent, type SerializedCallback } from "../../sdk/notify.js";
import type { TaskContext } from "../../sdk/types.js";
import type { Grants } from "../context.js";
import type { TaskPayload } from "../protocol.js";
import { runHttp } from "./http.js";
import { sendMail } from "./smtp.js";

/** The arguments of a callback operator, as the orchestrator builds them. */
export type CallbackArgs = SerializedCallback & { scope: "task" | "dag"; event: CallbackEvent; error: { type: string; message: string } | null };

/** Runs the callback described by rendered `args`. */
export async function runCallback(p: TaskPayload, args: CallbackArgs, grants: Grants, ctx: TaskContext): Promise<unknown> {
  if (args.type === "webhook") {
    return runHttp({ method: "POST", path: args.path, body: args.body, headers: args.headers }, grants.connection(args.connection));
  }
  if (args.type === "email") {
    const conn = grants.connection(args.connection);
    const from = typeof conn.extra?.from === "string" ? conn.extra.from : conn.login && conn.login.includes("@") ? conn.login : `airlock@${conn.host ?? "localhost"}`;
    await sendMail(conn, { from, to: args.to, subject: args.subject, body: args.body });
    return null;
  }
  if (!p.dagModule) throw new Error(`the ${args.event} callback of "${p.taskId}" needs its DAG module, but the payload names none`);
  const mod = (await import(pathToFileURL(p.dagModule).href)) as Record<string, unknown>;
  const d = Object.values(mod).flat().find((v) => isDag(v) && v.id === p.dagId);
  if (!isDag(d)) throw new Error(`the DAG module no longer defines DAG "${p.dagId}"`);
  const options = args.scope === "dag" ? d.options : d.task(p.taskId)?.options;
  const fn = options ? callbackAt(options, args.event, args.index) : undefined;
  if (!fn) throw new Error(`the ${args.event} callback ${args.index + 1} of ${args.scope === "dag" ? `DAG "${p.dagId}"` : `task "${p.taskId}"`} is no longer a function in the DAG module`);
  const context: CallbackContext = { ...ctx, event: args.event, error: args.error };
  return (await fn(context)) ?? null;
}
