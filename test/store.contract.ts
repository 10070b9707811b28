/**
 * The Store contract: one suite that every Store adapter must pass (test/store.sqlite.test.ts and
 * test/store.postgres.test.ts run it against a real SQLite file and a real Postgres database).
 * Tests share one database per file and keep to rows they name with fresh ids, so they also prove that
 * the store scopes every query correctly.
 */
import { afterAll, beforeAll, describe } from "vitest";
import type { Store } from "../src/store/store.js";
import { batchesContract } from "./store-contract/batches.js";
import { claimsContract } from "./store-contract/claims.js";
import { dagsContract } from "./store-contract/dags.js";
import { fleetContract } from "./store-contract/fleet.js";
import { workersContract } from "./store-contract/workers.js";
import type { ContractContext } from "./store-contract/fixtures.js";
import { resourcesContract } from "./store-contract/resources.js";
import { runsContract } from "./store-contract/runs.js";
import { tasksContract } from "./store-contract/tasks.js";
import { triesContract } from "./store-contract/tries.js";
import { datasetsContract } from "./store-contract/datasets.js";
import { auditContract } from "./store-contract/audit.js";
import { mappingContract } from "./store-contract/mapping.js";

/** Registers the contract for `name`; `open` returns a new, migrated handle on the same database each call. */
export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store | undefined;
    beforeAll(async () => {
      store = await open();
    }, 300_000);
    afterAll(async () => {
      await store?.close();
    });
    const ctx: ContractContext = {
      store: () => {
        if (!store) throw new Error(`the ${name} store did not open; see the beforeAll error above`);
        return store;
      },
      open,
    };
    dagsContract(ctx);
    runsContract(ctx);
    tasksContract(ctx);
    claimsContract(ctx);
    batchesContract(ctx);
    triesContract(ctx);
    resourcesContract(ctx);
    datasetsContract(ctx);
    fleetContract(ctx);
    workersContract(ctx);
    auditContract(ctx);
    mappingContract(ctx);
  });
}
