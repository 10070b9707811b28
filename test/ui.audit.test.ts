/**
 * The "Audit log" page in a real browser over a real API server and store: it lists who did what, when and on
 * what (API calls with the token's name, CLI changes with the OS user), filters by DAG and action, pages, and
 * shows a pause made from the UI itself. Screenshots go to test-artifacts/.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { startApi, type ApiFixture } from "./helpers/api-fixture.js";

const ADMIN = "audit-ui-admin-token";
const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "ui", "dist");

let api: ApiFixture;
let browser: TestBrowser;

beforeAll(async () => {
  api = await startApi({ tokens: [{ token: ADMIN, role: "admin", name: "release-bot" }], server: { uiDir } });
  await api.addDag({ id: "sales_etl" }, ["extract", "load"]);
  await api.addDag({ id: "ml_train" }, ["prep", "fit"]);
  expect((await api.call("POST", "dags/sales_etl/runs", { token: ADMIN, body: { runId: "manual_1" } })).status).toBe(201);
  expect((await api.call("PUT", "pools/narrow", { token: ADMIN, body: { slots: 2 } })).status).toBe(200);
  expect((await api.call("PUT", "variables/region", { token: ADMIN, body: { value: "eu-west-secret-value", secret: true } })).status).toBe(200);
  await api.ctx.store.recordAudit({ actor: "alice", via: "cli", action: "clear", dagId: "ml_train", target: "manual_9", details: { tasks: ["prep", "fit"], downstream: true } });
  // Enough events for a second page.
  for (let i = 0; i < 55; i++) await api.ctx.store.recordAudit({ actor: "alice", via: "cli", action: "pool.set", dagId: null, target: `bulk_${i}`, details: { slots: i } });
  browser = await launchBrowser();
  await browser.page.goto(`${api.url}/?token=${ADMIN}`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

const rows = () => browser.page.$$eval("[data-testid=audit] tr[data-audit-action]", (trs) => trs.map((tr) => [tr.getAttribute("data-audit-action"), tr.getAttribute("data-audit-actor"), (tr as HTMLElement).innerText]));

describe("audit log page", () => {
  it("is in the navigation and lists events newest first, paged", async () => {
    const { page } = browser;
    await page.waitForSelector("nav a[href='/audit']");
    await page.click("nav a[href='/audit']");
    await page.waitForSelector("[data-testid=audit] tr[data-audit-action]");
    const first = await rows();
    expect(first).toHaveLength(50);
    expect(first[0]?.[0]).toBe("pool.set");
    expect(first[0]?.[2]).toContain("bulk_54");
    expect(await page.textContent(".page-head")).toContain("59 events");
    await page.click("button:has-text('Older')");
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=audit] tr[data-audit-action]").length === 9);
    const second = await rows();
    expect(second.map((r) => [r[0], r[1]])).toEqual([
      ["pool.set", "alice"], ["pool.set", "alice"], ["pool.set", "alice"], ["pool.set", "alice"], ["pool.set", "alice"],
      ["clear", "alice"], ["variable.set", "release-bot"], ["pool.set", "release-bot"], ["trigger", "release-bot"]]);
    expect(second[5]?.[2]).toMatch(/via CLI[\s\S]*ml_train[\s\S]*manual_9[\s\S]*tasks: prep, fit/);
    expect(second[8]?.[2]).toMatch(/via API\/UI[\s\S]*sales_etl[\s\S]*manual_1/);
    expect(JSON.stringify(second)).not.toContain("eu-west-secret-value");
    await browser.screenshot("ui-audit-log");
  });

  it("filters by action and DAG, and shows a pause made from the UI", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/audit`);
    await page.selectOption("select[aria-label=Action]", "clear");
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=audit] tr[data-audit-action]").length === 1);
    expect(page.url()).toContain("action=clear");
    expect((await rows())[0]?.[1]).toBe("alice");
    await page.click("button:has-text('Clear filters')");
    await page.fill("input[aria-label=DAG]", "sales_etl");
    await page.press("input[aria-label=DAG]", "Enter");
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=audit] tr[data-audit-action]").length === 1);
    expect((await rows())[0]?.[0]).toBe("trigger");
    // A pause through the DAG page is recorded with the signed-in token's name and appears here.
    await page.goto(`${api.url}/`);
    await page.waitForSelector('[data-dag-id="ml_train"]');
    const wasPaused = (await page.getAttribute('[data-dag-id="ml_train"] .switch', "data-paused")) === "true";
    await page.click('[data-dag-id="ml_train"] .switch');
    await page.waitForSelector(`[data-dag-id="ml_train"] .switch[data-paused="${String(!wasPaused)}"]`);
    await page.goto(`${api.url}/audit?dag=ml_train`);
    const expected = wasPaused ? "unpause" : "pause";
    await page.waitForFunction((a) => document.querySelector("[data-testid=audit] tr[data-audit-action]")?.getAttribute("data-audit-action") === a, expected);
    expect((await rows())[0]?.[1]).toBe("release-bot");
    await browser.screenshot("ui-audit-log-filtered");
  });
});
