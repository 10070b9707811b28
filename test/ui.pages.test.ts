/**
 * UI pages over a real API server and store (no scheduler): sign-in form, read-only role, DAG list filters and
 * live paused toggle, environments page, pools page, live grid updates. Screenshots go to test-artifacts/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { createRun, startApi, type ApiFixture } from "./helpers/api-fixture.js";

const ADMIN = "pages-admin-token";
const READ = "pages-read-token";
const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "ui", "dist");

let api: ApiFixture;
let browser: TestBrowser;

beforeAll(async () => {
  api = await startApi({ tokens: [{ token: ADMIN, role: "admin" }, { token: READ, role: "read" }], server: { uiDir } });
  await api.addDag({ id: "sales_etl", tags: ["finance"], description: "Nightly sales load" }, ["extract", "load"]);
  await api.addDag({ id: "ml_train", tags: ["ml"] }, ["prep", "fit"]);
  await api.addDag({ id: "uses_env" }, ["step"]);
  await api.addDag({ id: "catchy", schedule: "@hourly", startDate: "2026-01-01", catchup: true, pausedOnCreation: true }, ["step"]);
  mkdirSync(path.join(api.dir, "environments", "lodash3"), { recursive: true });
  writeFileSync(path.join(api.dir, "environments", "lodash3", "package.json"), JSON.stringify({ name: "lodash3", private: true, dependencies: {} }));
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe("UI pages", () => {
  it("asks for a token, refuses a wrong one, and keeps a right one for the session", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/`);
    await page.waitForSelector("input[name=token]");
    await page.fill("input[name=token]", "wrong-token-value");
    await page.click("button[type=submit]");
    await page.waitForSelector(".form-error");
    expect(await page.textContent(".form-error")).toContain("not valid");
    await browser.screenshot("ui-login");
    await page.fill("input[name=token]", ADMIN);
    await page.click("button[type=submit]");
    await page.waitForSelector('[data-dag-id="sales_etl"]');
    await page.reload();
    await page.waitForSelector('[data-dag-id="sales_etl"]');
    expect(await page.locator("input[name=token]").count()).toBe(0);
  });

  it("filters by tag and updates the paused toggle live when another client pauses a DAG", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/`);
    await page.waitForSelector('[data-dag-id="ml_train"]');
    await page.click('.tag-filter [data-tag="finance"]');
    await page.waitForFunction(() => document.querySelectorAll("tr[data-dag-id]").length === 1);
    expect(await page.getAttribute("tr[data-dag-id]", "data-dag-id")).toBe("sales_etl");
    expect(page.url()).toContain("tags=finance");

    const toggle = 'tr[data-dag-id="sales_etl"] [role=switch]';
    expect(await page.getAttribute(toggle, "data-paused")).toBe("false");
    // Another client pauses it; the page follows over SSE.
    expect((await api.call("PATCH", "dags/sales_etl", { token: ADMIN, body: { isPaused: true } })).status).toBe(200);
    await page.waitForSelector(`${toggle}[data-paused="true"]`);
    // And the UI's own toggle unpauses it in the store.
    await page.click(toggle);
    await page.waitForSelector(`${toggle}[data-paused="false"]`);
    expect((await api.ctx.store.getDag("sales_etl"))?.isPaused).toBe(false);
  });

  it("warns on a paused DAG whose unpause would create many catch-up runs, and not on others", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/catchy`);
    await page.waitForSelector('[data-testid="catchup-warning"]');
    expect(await page.textContent('[data-testid="catchup-warning"]')).toMatch(/more than 25 catch-up runs/);
    await browser.screenshot("ui-catchup-warning");
    await page.goto(`${api.url}/dags/ml_train`);
    await page.waitForSelector('h1[data-dag-id="ml_train"]');
    expect(await page.$('[data-testid="catchup-warning"]')).toBeNull();
  });

  it("the Live badge tells the truth on every load", async () => {
    const { page } = browser;
    for (let i = 0; i < 8; i++) {
      await page.goto(`${api.url}/`);
      await page.waitForSelector('[data-live="on"]', { timeout: 15_000 });
    }
  });

  it("works at 800 px wide and follows the browser's dark mode", async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 800, height: 900 });
    try {
      await page.goto(`${api.url}/`);
      await page.waitForSelector('[data-dag-id="catchy"]');
      // No header text is cut, and a schedule never wraps inside its expression.
      const cut = await page.$$eval(".dag-table th", (ths) => ths.filter((th) => th.scrollWidth > th.clientWidth + 1).map((th) => th.textContent));
      expect(cut).toEqual([]);
      const wrapped = await page.$$eval(".sched", (els) => els.filter((e) => e.getClientRects().length > 1).map((e) => e.textContent));
      expect(wrapped).toEqual([]);
      await browser.screenshot("ui-800px");
      const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await page.emulateMedia({ colorScheme: "dark" });
      const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(dark).not.toBe(light);
      const [r, g, b] = (dark.match(/\d+/g) ?? []).map(Number);
      expect((r ?? 255) + (g ?? 255) + (b ?? 255)).toBeLessThan(150);
      await browser.screenshot("ui-dark");
    } finally {
      await page.emulateMedia({ colorScheme: "light" });
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it("shows runs and task states in the grid and updates cells live", async () => {
    const { page } = browser;
    await createRun(api.ctx, "sales_etl", "grid_run_1", "2026-03-01T00:00:00.000Z");
    await page.goto(`${api.url}/dags/sales_etl`);
    const cell = '.grid-row[data-task="load"] .cell';
    await page.waitForSelector(`${cell}[data-state="none"]`);
    await api.runTry("grid_run_1", "extract", "ok\n");
    await page.waitForSelector('.grid-row[data-task="extract"] .cell[data-state="success"]');
    await api.runTry("grid_run_1", "load", "bad\n", "failed");
    await page.waitForSelector(`${cell}[data-state="failed"]`);
    await page.click(`${cell}[data-state="failed"]`);
    await page.waitForSelector('[data-testid=task-panel] .task-state[data-state="failed"]');
    await browser.screenshot("ui-grid-task");
  });

  it("lists environments with their state", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/environments`);
    await page.waitForSelector('[data-env="lodash3"]');
    expect(await page.getAttribute('[data-env="lodash3"] [data-env-state]', "data-env-state")).toBe("not built");
    await browser.screenshot("ui-environments");
  });

  it("lists pools with their occupancy and changes a pool's slots", async () => {
    const { page } = browser;
    await api.ctx.store.setPool({ name: "ui_pool", slots: 2, description: "reports" });
    await page.goto(`${api.url}/pools`);
    await page.waitForSelector('tr[data-pool="ui_pool"]');
    expect(await page.textContent('tr[data-pool="ui_pool"]')).toContain("reports");
    await page.fill('input[aria-label="Slots of ui_pool"]', "7");
    await page.click('tr[data-pool="ui_pool"] [data-action="save-pool"]');
    await expect.poll(async () => (await api.ctx.store.listPools()).find((p) => p.name === "ui_pool")?.slots).toBe(7);
    await browser.screenshot("ui-pools");
  });

  it("disables actions for a read-only token", async () => {
    const { page } = browser;
    await page.evaluate((t) => sessionStorage.setItem("airlock.token", t), READ);
    await page.goto(`${api.url}/dags/sales_etl?run=grid_run_1`);
    await page.waitForSelector("[data-testid=run-panel]");
    expect(await page.isDisabled("[data-action=trigger]")).toBe(true);
    expect(await page.isDisabled("[data-action=mark-run-success]")).toBe(true);
    expect(await page.isDisabled('[role=switch]')).toBe(true);
  });
});
