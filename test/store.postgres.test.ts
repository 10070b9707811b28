/** The Store contract against a real Postgres server (scripts/setup-postgres.sh), in a fresh database. */
import { afterAll, beforeAll, expect } from "vitest";
import { openStore } from "../src/store/index.js";
import { createTestDatabase, type TestDatabase } from "./helpers/postgres.js";
import { storeContract } from "./store.contract.js";

let db: TestDatabase | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
}, 900_000);
afterAll(async () => {
  await db?.drop();
});

storeContract("postgres", async () => {
  if (!db) throw new Error("the test database was not created; see the beforeAll error above");
  const store = await openStore(db.url);
  expect(store.dialect).toBe("postgres");
  return store;
});
