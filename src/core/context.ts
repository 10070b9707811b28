/** What the orchestrator's parts share: configuration, the store and the secret box. */
import type { AirlockConfig } from "../config/config.js";
import { SecretBox } from "../secrets/secret-box.js";
import { ensurePrivateDir } from "./paths.js";
import { openStore } from "../store/index.js";
import type { Store } from "../store/store.js";

/** Shared resources of one orchestrator process. */
export interface AirlockContext {
  config: AirlockConfig;
  store: Store;
  secrets: SecretBox;
}

/** Opens the store and the secret box of a configuration. */
export async function createContext(config: AirlockConfig): Promise<AirlockContext> {
  ensurePrivateDir(config.stateDir);
  const store = await openStore(config.store);
  return { config, store, secrets: SecretBox.open(config.secrets.key, config.stateDir) };
}
