/** The Store contract against a real SQLite file (WAL) in a fresh temp directory. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { openStore } from "../src/store/index.js";
import { storeContract } from "./store.contract.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-store-sqlite-"));
const url = `sqlite:${path.join(dir, "nested", "airlock.db")}`;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract("sqlite", async () => {
  const store = await openStore(url);
  expect(store.dialect).toBe("sqlite");
  return store;
});

it("refuses a store URL it does not know, naming the accepted forms", async () => {
  await expect(openStore("mysql://localhost/x")).rejects.toThrow(/sqlite:<path>.*postgres:\/\//);
});
