/**
 * The container operator runs the user's image without the runner, so its templated fields are rendered here,
 * with the same hardened renderer and the same grants the runner would apply.
 */
import { buildTemplateContext, renderFields } from "../templating/index.js";
import { grantsOf } from "../runner/context.js";
import type { TaskPayload } from "../runner/protocol.js";

/** Rendered container arguments and the secret values (privateEnv) to mask. */
export function renderContainerArgs(p: TaskPayload): { args: Record<string, unknown>; secrets: string[] } {
  const g = grantsOf(p);
  const tctx = buildTemplateContext({
    dagId: p.dagId, taskId: p.taskId, runId: p.runId, tryNumber: p.tryNumber, params: p.context.params,
    conf: p.context.conf, logicalDate: p.context.logicalDate, dataInterval: p.context.dataInterval,
    timezone: p.context.timezone, xcomPull: g.xcomPull, variable: g.variable, connection: g.connection,
  });
  const args = renderFields(p.operator.args, p.operator.templateFields, tctx, { dagId: p.dagId, taskId: p.taskId });
  const secrets = Object.values((args.privateEnv as Record<string, unknown> | undefined) ?? {}).map(String);
  return { args, secrets };
}
