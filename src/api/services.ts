/**
 * What route handlers share: the Airlock context, the bridge to the core's actions, and the change hub.
 */
import type { AirlockContext } from "../core/context.js";
import type { CoreBridge } from "./core.js";
import type { ChangeHub } from "./change-hub.js";

/** The Airlock context, optionally with the scheduler's wake-up (standalone wakes it after an action). */
export type ApiContext = AirlockContext & { wake?: () => void };

/** Shared by every route handler of one server. */
export interface ApiServices {
  ctx: ApiContext;
  core: CoreBridge;
  hub: ChangeHub;
  version: string;
}
