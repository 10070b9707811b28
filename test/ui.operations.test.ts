/**
 * The operator pages Airflow users reach for, over a real API server and store in headless Chromium: connections
 * and variables (secrets never reach the browser: proven on the page's HTML and on every API response it read), a
 * run's Gantt chart, task duration history, the calendar of runs, the DAG's code and a run's XComs. Every page is
 * also shown at 800 px in dark mode. Screenshots go to test-artifacts/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { createRun, startApi, type ApiFixture } from "./helpers/api-fixture.js";

const ADMIN = "ops-pages-admin-token";
const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "ui", "dist");
const CONN_PASSWORD = "pw-Zq81-never-shown";
const CONN_EXTRA_SECRET = "extra-key-Hk27-never-shown";
const VAR_BY_NAME = "var-by-name-Lp40-never-shown";
const VAR_FLAGGED = "var-flagged-Rt55-never-shown";
const VAR_JSON_TOKEN = "json-token-Mw93-never-shown";
const SECRETS = [CONN_PASSWORD, CONN_EXTRA_SECRET, VAR_BY_NAME, VAR_FLAGGED, VAR_JSON_TOKEN];
const DAY = 86_400_000;

let api: ApiFixture;
let browser: TestBrowser;
/** Bodies of every API response the browser received. */
const responses: string[] = [];

/** Runs a task with a chosen start and duration (the fixture's tries take milliseconds). */
async function runFor(runId: string, taskId: string, start: number, seconds: number, outcome: "success" | "failed" = "success") {
  await api.runTry(runId, taskId, `${taskId} ran\n`, outcome);
  await api.ctx.store.transitionTask(runId, taskId, [outcome], {
    state: outcome, startDate: new Date(start).toISOString(), endDate: new Date(start + seconds * 1000).toISOString(),
  });
}

/** Shows the current page at 800 px in dark mode, checks it is dark and nothing overflows the window, screenshots it. */
async function narrowDark(page: Page, name: string, ready: string) {
  await page.setViewportSize({ width: 800, height: 900 });
  await page.emulateMedia({ colorScheme: "dark" });
  try {
    await page.reload();
    await page.waitForSelector(ready);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = (bg.match(/\d+/g) ?? []).map(Number);
    expect((r ?? 255) + (g ?? 255) + (b ?? 255)).toBeLessThan(150);
    // The page itself never scrolls sideways at 800 px: wide content scrolls inside its own box.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
    await browser.screenshot(`${name}-800-dark`);
  } finally {
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1440, height: 900 });
  }
}

beforeAll(async () => {
  api = await startApi({ tokens: [{ token: ADMIN, role: "admin" }], server: { uiDir } });
  await api.addDag({ id: "reports", schedule: "@daily", startDate: "2026-01-01" }, ["extract", "transform", "load"]);
  // Its source, with a connection's password pasted in by mistake: the code page masks it.
  mkdirSync(path.join(api.dir, "dags"), { recursive: true });
  writeFileSync(path.join(api.dir, "dags", "reports.ts"), `import { bash, dag } from "airlock";\n// temporary: ${CONN_PASSWORD}\nexport default dag({ id: "reports" }, () => {\n  bash({ id: "extract", command: "echo extract" });\n});\n`);
  const now = Date.now();
  // Six daily runs: durations grow, one run fails.
  for (let i = 0; i < 6; i++) {
    const runId = `daily_${i}`;
    const start = now - (6 - i) * DAY;
    await createRun(api.ctx, "reports", runId, new Date(start).toISOString());
    await runFor(runId, "extract", start, 10 + i * 5);
    await runFor(runId, "transform", start + 60_000, 30 + i * 10, i === 4 ? "failed" : "success");
    if (i !== 4) await runFor(runId, "load", start + 120_000, 5);
    await api.ctx.store.setRunState(runId, i === 4 ? "failed" : "success");
  }
  browser = await launchBrowser();
  await browser.page.addInitScript((t) => sessionStorage.setItem("airlock.token", t), ADMIN);
  browser.page.on("response", async (res) => {
    if (!res.url().includes("/api/v1/") || res.url().includes("/api/v1/events")) return;
    responses.push(await res.text().catch(() => ""));
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe("operator pages", () => {
  it("adds, lists and deletes connections without ever sending a secret back to the browser", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/connections`);
    await page.waitForSelector("[data-testid=connection-form]");
    await page.fill("[data-testid=connection-form] input[name=connId]", "warehouse");
    await page.fill("[data-testid=connection-form] input[name=connType]", "postgres");
    await page.fill("[data-testid=connection-form] input[name=host]", "db.internal");
    await page.fill("[data-testid=connection-form] input[name=port]", "5432");
    await page.fill("[data-testid=connection-form] input[name=login]", "etl");
    await page.fill("[data-testid=connection-form] input[name=password]", CONN_PASSWORD);
    await page.fill("[data-testid=connection-form] textarea[name=extra]", JSON.stringify({ region: "eu", api_key: CONN_EXTRA_SECRET }));
    await page.click("[data-action=save-connection]");
    await page.waitForSelector('tr[data-conn="warehouse"]');
    const row = await page.textContent('tr[data-conn="warehouse"]');
    expect(row).toContain("db.internal");
    expect(row).toContain('"region":"eu"');
    expect(row).toContain('"api_key":"***"');
    expect(await page.getAttribute('tr[data-conn="warehouse"] [data-has-password]', "data-has-password")).toBe("true");
    // The password field was emptied after saving.
    expect(await page.inputValue("[data-testid=connection-form] input[name=password]")).toBe("");
    // The connection works for tasks: the store has the real password.
    expect((await api.call("GET", "connections", { token: ADMIN })).json.connections[0].hasPassword).toBe(true);

    await api.call("POST", "connections", { token: ADMIN, body: { connId: "scratch", uri: "s3://k:v-secret-value@bucket" } });
    await page.reload();
    await page.waitForSelector('tr[data-conn="scratch"]');
    page.once("dialog", (d) => void d.accept());
    await page.click('tr[data-conn="scratch"] [data-action=delete-connection]');
    await page.waitForSelector('tr[data-conn="scratch"]', { state: "detached" });
    expect((await api.call("GET", "connections", { token: ADMIN })).json.connections.map((c: { connId: string }) => c.connId)).toEqual(["warehouse"]);
    await browser.screenshot("ui-connections");
    await narrowDark(page, "ui-connections", 'tr[data-conn="warehouse"]');
    const html = await page.content();
    for (const s of [CONN_PASSWORD, CONN_EXTRA_SECRET]) expect(html).not.toContain(s);
  });

  it("lists, sets and deletes variables, masking secret-looking ones as Airflow does", async () => {
    const { page } = browser;
    await api.call("PUT", "variables/api_token", { token: ADMIN, body: { value: VAR_BY_NAME } });
    await api.call("PUT", "variables/settings", { token: ADMIN, body: { value: JSON.stringify({ mode: "fast", auth: { token: VAR_JSON_TOKEN } }) } });
    await page.goto(`${api.url}/variables`);
    await page.waitForSelector('tr[data-var="settings"]');
    // Set from the page: a plain one and one flagged secret.
    for (const [key, value, secret] of [["color", "blue", false], ["vendor_feed", VAR_FLAGGED, true]] as const) {
      await page.fill("[data-testid=variable-form] input[name=key]", key);
      await page.fill("[data-testid=variable-form] textarea[name=value]", value);
      if (secret) await page.check("[data-testid=variable-form] input[name=secret]");
      await page.click("[data-action=save-variable]");
      await page.waitForSelector(`tr[data-var="${key}"]`);
    }
    const value = (key: string) => page.textContent(`tr[data-var="${key}"] .var-value`);
    expect(await value("color")).toBe("blue");
    expect(await value("api_token")).toBe("***");
    expect(await value("vendor_feed")).toBe("***");
    expect(await value("settings")).toBe(JSON.stringify({ mode: "fast", auth: { token: "***" } }));
    expect(await page.getAttribute('tr[data-var="api_token"]', "data-secret")).toBe("true");

    page.once("dialog", (d) => void d.accept());
    await page.click('tr[data-var="color"] [data-action=delete-variable]');
    await page.waitForSelector('tr[data-var="color"]', { state: "detached" });
    expect((await api.call("GET", "variables/color", { token: ADMIN })).status).toBe(404);
    await browser.screenshot("ui-variables");
    await narrowDark(page, "ui-variables", 'tr[data-var="settings"]');
    const html = await page.content();
    for (const s of [VAR_BY_NAME, VAR_FLAGGED, VAR_JSON_TOKEN]) expect(html).not.toContain(s);
  });

  it("draws a run's Gantt chart with bars placed and scaled by the tasks' times", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/reports?tab=gantt&run=daily_5`);
    await page.waitForSelector('[data-testid=gantt][data-run="daily_5"] .gantt-row[data-task="load"] .gantt-bar');
    const box = async (t: string) => (await page.locator(`.gantt-row[data-task="${t}"] .gantt-bar`).boundingBox())!;
    const [extract, transform, load] = [await box("extract"), await box("transform"), await box("load")];
    // extract starts first; transform (80 s) is longer than extract (35 s) and starts after it; load starts last.
    expect(extract.x).toBeLessThan(transform.x);
    expect(transform.x).toBeLessThan(load.x);
    expect(transform.width).toBeGreaterThan(extract.width * 2);
    expect(await page.getAttribute('.gantt-row[data-task="transform"] .gantt-bar', "data-state")).toBe("success");
    await browser.screenshot("ui-gantt");
    await narrowDark(page, "ui-gantt", '.gantt-row[data-task="load"] .gantt-bar');
  });

  it("shows each task's duration over the recent runs", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/reports?tab=durations`);
    await page.waitForSelector('[data-testid=durations] tr[data-task="extract"] .spark-bar');
    const seconds = await page.locator('tr[data-task="extract"] .spark-bar').evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seconds"))));
    expect(seconds).toEqual([10, 15, 20, 25, 30, 35]);
    const heights = await page.locator('tr[data-task="extract"] .spark-bar').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    expect(heights[5]).toBeGreaterThan(heights[0]! * 2);
    // A run where the task did not run has no bar height.
    expect(await page.locator('tr[data-task="load"] .spark-bar').nth(4).evaluate((e) => e.getBoundingClientRect().height)).toBe(0);
    await page.fill('[data-testid=durations] input[aria-label="Filter tasks"]', "trans");
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=durations] tbody tr").length === 1);
    await browser.screenshot("ui-durations");
    await narrowDark(page, "ui-durations", 'tr[data-task="extract"] .spark-bar');
  });

  it("shows a calendar of runs per day coloured by state", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/reports?tab=calendar`);
    await page.waitForSelector("[data-testid=calendar] .cal-day[data-runs='1']");
    const days = await page.locator(".cal-day[data-runs='1']").evaluateAll((els) => els.map((e) => [e.getAttribute("data-date"), e.getAttribute("data-state")]));
    expect(days).toHaveLength(6);
    expect(days.filter(([, s]) => s === "failed")).toHaveLength(1);
    expect(days.filter(([, s]) => s === "success")).toHaveLength(5);
    const failedDay = new Date(Date.now() - 2 * DAY).toISOString().slice(0, 10);
    expect(days).toContainEqual([failedDay, "failed"]);
    // About a year of days is drawn.
    expect(await page.locator(".cal-day[data-date]").count()).toBeGreaterThanOrEqual(365);
    await browser.screenshot("ui-calendar");
    await narrowDark(page, "ui-calendar", "[data-testid=calendar] .cal-day[data-runs='1']");
  });

  it("shows the DAG's code read-only, with known secrets masked", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/reports?tab=code`);
    await page.waitForSelector("[data-testid=dag-code] .code-line");
    const text = await page.textContent("[data-testid=dag-code] .code-body");
    expect(text).toContain('export default dag({ id: "reports" }');
    expect(text).toContain("// temporary: ***");
    expect(await page.locator("[data-testid=dag-code] textarea, [data-testid=dag-code] [contenteditable=true]").count()).toBe(0);
    await browser.screenshot("ui-code");
    await narrowDark(page, "ui-code", "[data-testid=dag-code] .code-line");
    expect(await page.content()).not.toContain(CONN_PASSWORD);
  });

  it("lists the XComs of a run's tasks", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/reports?run=daily_4`);
    await page.waitForSelector("[data-testid=run-xcoms] [data-xcom-task]");
    // In run 4 transform failed and load never ran: only extract has a result.
    expect(await page.locator("[data-testid=run-xcoms] [data-xcom-task]").evaluateAll((els) => els.map((e) => e.getAttribute("data-xcom-task")))).toEqual(["extract"]);
    await page.click('[data-xcom-task="extract"] summary');
    expect(await page.textContent('[data-xcom-task="extract"] pre')).toContain('"task": "extract"');
    await browser.screenshot("ui-run-xcoms");
    await narrowDark(page, "ui-run-xcoms", "[data-testid=run-xcoms] [data-xcom-task]");
  });

  it("never received a secret in any API response", () => {
    expect(responses.length).toBeGreaterThan(10);
    for (const body of responses) for (const s of SECRETS) expect(body).not.toContain(s);
  });
});
