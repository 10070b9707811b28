/** Opens the store named by a URL: "sqlite:<path>" (embedded default) or "postgres://...". */
import { redactUrl } from "../config/config.js";
import { KyselyStore } from "./kysely-store.js";
import type { Store } from "./store.js";

export type { Store } from "./store.js";
export * from "./types.js";

/** Opens and migrates the store at `url`. */
export async function openStore(url: string, options: { migrate?: boolean } = {}): Promise<Store> {
  let store: Store;
  if (url.startsWith("sqlite:")) {
    const { createSqliteAdapter } = await import("./sqlite/index.js");
    store = new KyselyStore(await createSqliteAdapter(url.slice("sqlite:".length)));
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    const { createPostgresAdapter } = await import("./postgres/index.js");
    store = new KyselyStore(createPostgresAdapter(url));
  } else {
    throw new Error(`Unsupported store "${redactUrl(url)}": use "sqlite:<path>" or a postgres:// URL`);
  }
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw new Error(`Could not open the store at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
    }
  }
  return store;
}
