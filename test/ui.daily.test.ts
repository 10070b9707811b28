/**
 * Two things an Airflow user does every day, in headless Chromium on a real `airlock standalone`:
 * - "Clear" on a failed task opens a dialog that includes the downstream tasks by default and lists what will run
 *   again; after clearing, the downstream tasks run and the run ends successful (clearing only the failed task
 *   would leave them upstream_failed and the run failed).
 * - A mapped task's graph node counts its instances by state, and the task panel opens one instance (its log, its
 *   XCom or its error).
 * - The "Live" badge says "Offline" once the server is gone (ui.pages proves it says "Live" on every load).
 * Screenshots: test-artifacts/ui-clear-*.png, ui-graph-mapped*.png, ui-mapped-instance*.png, ui-live-offline.png.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api/client.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { startStandalone, waitForDags, type Standalone } from "./helpers/standalone.js";

const ADMIN = "ui-clear-admin-token";
const gates = mkdtempSync(path.join(os.tmpdir(), "airlock-ui-clear-"));
const GATE = path.join(gates, "input-ready");

// load fails until the gate file exists; report and notify are downstream of it.
const FIX_ME = `
import { bash, dag } from "airlock";
export default dag({ id: "fix_me", schedule: null }, () => {
  const extract = bash({ id: "extract", command: "echo extracted" });
  const load = bash({ id: "load", command: "if [ -e ${GATE} ]; then echo loaded; else echo 'input missing' >&2; exit 1; fi" });
  const report = bash({ id: "report", command: "echo reported" });
  const notify = bash({ id: "notify", command: "echo notified" });
  extract.then(load);
  load.then(report);
  report.then(notify);
});
`;

// Five instances of "each"; the one for "c" fails.
const FAN_OUT = `
import { dag, fn } from "airlock";
export default dag({ id: "fan_out", schedule: null }, () => {
  const list = fn({ id: "list_items", run: async () => ["a", "b", "c", "d", "e"] });
  fn({ id: "each", run: async (ctx) => {
    ctx.log.info("handling " + String(ctx.item));
    if (ctx.item === "c") throw new Error("item c is bad");
    return { item: ctx.item, n: ctx.mapIndex * 10 };
  } }).expand(list);
});
`;

// Daily at 06:00 UTC: its next run starts a day after its next logical date (when that interval ends).
const NIGHTLY = `
import { bash, dag } from "airlock";
export default dag({ id: "nightly", schedule: "0 6 * * *", timezone: "UTC", startDate: "2026-01-01", catchup: false }, () => {
  bash({ id: "a", command: "echo a" });
});
`;

let server: Standalone;
let browser: TestBrowser;
let client: ApiClient;

beforeAll(async () => {
  server = await startStandalone({ dags: { "fix_me.ts": FIX_ME, "fan_out.ts": FAN_OUT, "nightly.ts": NIGHTLY }, tokens: [{ token: ADMIN, role: "admin" }] });
  client = new ApiClient({ url: server.url, token: ADMIN });
  await waitForDags(client, ["fix_me", "fan_out", "nightly"], 60_000);
  browser = await launchBrowser();
  await browser.page.goto(`${server.url}/?token=${ADMIN}`);
  await browser.page.waitForSelector('[data-dag-id="fix_me"]');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(gates, { recursive: true, force: true });
});

/** Task id → [state, tryNumber] of a run (unmapped tasks). */
async function states(dagId: string, runId: string): Promise<Record<string, [string, number]>> {
  const list = await client.listTaskInstances(dagId, runId);
  return Object.fromEntries(list.taskInstances.filter((t) => t.mapIndex < 0).map((t) => [t.taskId, [t.state, t.tryNumber]]));
}

/** Shows the page at 800 px in dark mode and screenshots it; the page must not scroll sideways. */
async function narrowDark(name: string, loaded: string, ready: string, reopen?: () => Promise<void>) {
  const { page } = browser;
  await page.setViewportSize({ width: 800, height: 900 });
  await page.emulateMedia({ colorScheme: "dark" });
  try {
    await page.reload();
    await page.waitForSelector(loaded);
    await reopen?.();
    await page.waitForSelector(ready);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
    await browser.screenshot(`${name}-800-dark`);
  } finally {
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1440, height: 900 });
  }
}

describe("clear dialog, mapped tasks and the Live badge in the web UI", () => {
  it("clears a failed task with its downstream by default, and the run then ends successful", async () => {
    const { page } = browser;
    const run = await client.triggerDagRun("fix_me");
    const failed = await client.waitForRun("fix_me", run.runId, { timeoutMs: 90_000 });
    expect(failed.state).toBe("failed");
    expect(await states("fix_me", run.runId)).toEqual({
      extract: ["success", 1], load: ["failed", 1], report: ["upstream_failed", 0], notify: ["upstream_failed", 0],
    });

    await page.goto(`${server.url}/dags/fix_me?tab=graph&run=${encodeURIComponent(run.runId)}&task=load`);
    await page.waitForSelector('[data-testid=task-panel] .task-state:has-text("failed")');
    await page.click("[data-testid=task-panel] [data-action=clear-task]");
    await page.waitForSelector("[data-testid=clear-dialog]");
    // Downstream is included by default, as in Airflow; upstream and "only failed" are not.
    expect(await page.isChecked('[data-testid=clear-dialog] input[name="downstream"]')).toBe(true);
    expect(await page.isChecked('[data-testid=clear-dialog] input[name="upstream"]')).toBe(false);
    expect(await page.isChecked('[data-testid=clear-dialog] input[name="onlyFailed"]')).toBe(false);
    await page.waitForSelector('[data-testid=clear-preview][data-count="3"]');
    expect(await page.locator("[data-testid=clear-preview] li").allTextContents()).toEqual(["load", "report", "notify"]);
    await browser.screenshot("ui-clear-dialog");

    // The list follows the options: without downstream only the task itself; with upstream, extract too.
    await page.uncheck('[data-testid=clear-dialog] input[name="downstream"]');
    await page.waitForSelector('[data-testid=clear-preview][data-count="1"]');
    expect(await page.locator("[data-testid=clear-preview] li").allTextContents()).toEqual(["load"]);
    await page.check('[data-testid=clear-dialog] input[name="upstream"]');
    await page.waitForSelector('[data-testid=clear-preview][data-count="2"]');
    expect(await page.locator("[data-testid=clear-preview] li").allTextContents()).toEqual(["extract", "load"]);
    await page.uncheck('[data-testid=clear-dialog] input[name="upstream"]');
    await page.check('[data-testid=clear-dialog] input[name="downstream"]');
    await page.waitForSelector('[data-testid=clear-preview][data-count="3"]');
    // Listing changed nothing.
    expect((await states("fix_me", run.runId)).load).toEqual(["failed", 1]);
    await narrowDark("ui-clear-dialog", "[data-testid=task-panel] [data-action=clear-task]", '[data-testid=clear-preview][data-count="3"]', async () => {
      await page.click("[data-testid=task-panel] [data-action=clear-task]");
    });

    // The input arrives; the user confirms the default.
    writeFileSync(GATE, "");
    await page.click("[data-testid=clear-dialog] [data-action=clear-confirm]");
    await page.waitForSelector("[data-testid=clear-dialog]", { state: "detached" });
    // The graph turns green without a reload, the cleared task's panel too.
    for (const task of ["extract", "load", "report", "notify"]) {
      await page.waitForSelector(`g.node[data-task="${task}"][data-state="success"]`, { timeout: 90_000 });
    }
    await page.waitForSelector('[data-testid=task-panel] .task-state:has-text("success")');
    await client.waitForRun("fix_me", run.runId, { timeoutMs: 30_000 });
    expect(await states("fix_me", run.runId)).toEqual({
      extract: ["success", 1], load: ["success", 2], report: ["success", 1], notify: ["success", 1],
    });
    expect((await client.getRun("fix_me", run.runId)).state).toBe("success");
    // The run's panel says so too.
    await page.click("[data-testid=task-panel] [aria-label=Close]");
    await page.waitForSelector('[data-testid=run-panel] .run-state[data-state="success"]');
    await browser.screenshot("ui-clear-after");

    // One clear in the audit log (the dialog's listings are not changes), naming what was cleared.
    const audit = await client.listAudit({ dagId: "fix_me", action: "clear" });
    expect(audit.total).toBe(1);
    expect(audit.events[0]?.details).toMatchObject({ tasks: ["load", "report", "notify"], downstream: true });
  }, 240_000);

  it("counts a mapped task's instances by state on its graph node and opens one instance's log, XCom and error", async () => {
    const { page } = browser;
    const run = await client.triggerDagRun("fan_out");
    expect((await client.waitForRun("fan_out", run.runId, { timeoutMs: 90_000 })).state).toBe("failed");

    await page.goto(`${server.url}/dags/fan_out?tab=graph&run=${encodeURIComponent(run.runId)}`);
    const node = page.locator('g.node[data-task="each"][data-mapped]');
    await node.waitFor();
    // Most urgent state first; the node's text and its bar say the same.
    expect(await node.getAttribute("data-mapped")).toBe("failed:1,success:4");
    expect(await node.locator(".node-mapped").textContent()).toBe("×5 · 1 failed, 4 success");
    expect(await node.locator("rect.map-bar").evaluateAll((els) => els.map((e) => [e.getAttribute("data-bar-state"), Math.round(Number(e.getAttribute("width")))]))).toEqual([["failed", 33], ["success", 131]]);
    expect(await page.getAttribute('g.node[data-task="list_items"]', "data-mapped")).toBeNull();
    // The run's XComs list the mapped task once (its instances' results), not once per instance.
    await page.waitForSelector('[data-testid=run-xcoms] [data-xcom-task="each"]');
    expect(await page.locator("[data-testid=run-xcoms] [data-xcom-task]").evaluateAll((els) => els.map((e) => e.getAttribute("data-xcom-task")))).toEqual(["list_items", "each"]);
    await browser.screenshot("ui-graph-mapped");

    // A click on the node opens its instances; a chip opens one.
    await node.click();
    await page.waitForSelector('[data-testid=mapped-instances][data-count="5"]');
    expect(await page.textContent("[data-testid=mapped-instances] [data-state-count=failed]")).toContain("1 failed");
    expect(await page.textContent("[data-testid=mapped-instances] [data-state-count=success]")).toContain("4 success");
    await page.click('[data-testid=mapped-instances] [data-map-index="3"]');
    expect(new URL(page.url()).searchParams.get("map")).toBe("3");
    await page.click("[data-testid=task-panel] details.xcom summary");
    await page.waitForSelector('[data-testid=task-panel] pre.json:has-text("\\"n\\": 30")');
    expect(await page.textContent("[data-testid=task-panel] pre.json")).toContain('"item": "d"');
    await page.waitForSelector('[data-testid=task-panel] [data-testid=log-viewer]:has-text("handling d")');
    await browser.screenshot("ui-mapped-instance");

    await page.click('[data-testid=mapped-instances] [data-map-index="2"]');
    await page.waitForSelector('[data-testid=task-panel] .task-state:has-text("failed")');
    await page.waitForSelector('[data-testid=task-panel] .error-box:has-text("item c is bad")');
    await page.waitForSelector('[data-testid=task-panel] [data-testid=log-viewer]:has-text("handling c")');
    expect(await page.locator("[data-testid=task-panel] details.xcom").count()).toBe(0);
    // Clearing one instance lists only that instance.
    await page.click("[data-testid=task-panel] [data-action=clear-task]");
    await page.waitForSelector('[data-testid=clear-preview][data-count="1"]');
    expect(await page.locator("[data-testid=clear-preview] li").allTextContents()).toEqual(["each[2]"]);
    await browser.screenshot("ui-mapped-instance-clear");
    await page.click('[data-testid=clear-dialog] button:has-text("Cancel")');
    await page.waitForSelector("[data-testid=clear-dialog]", { state: "detached" });
    const mappedNode = 'g.node[data-task="each"][data-mapped="failed:1,success:4"]';
    await narrowDark("ui-graph-mapped", mappedNode, mappedNode);
  }, 240_000);

  it("shows when the next run will actually start: the end of its interval, not its logical date", async () => {
    const { page } = browser;
    let dag = await client.getDag("nightly");
    for (const deadline = Date.now() + 60_000; !dag.nextRunAt && Date.now() < deadline; dag = await client.getDag("nightly")) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const next = dag.nextRunAt as string;
    expect(next).toMatch(/T06:00:00.000Z$/);
    expect(Date.parse(next) - Date.parse(dag.nextLogicalDate as string)).toBe(86_400_000);
    // Shown in the browser's time zone, as every date of the UI.
    const shown = await page.evaluate((iso) => {
      const d = new Date(iso);
      const p = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
    }, next);
    await page.goto(`${server.url}/`);
    const cell = page.locator('[data-dag-id="nightly"] td[data-next-run]');
    await cell.waitFor();
    expect(await cell.getAttribute("data-next-run")).toBe(next);
    expect((await cell.textContent())?.trim()).toBe(shown);
    await page.goto(`${server.url}/dags/nightly`);
    await page.waitForSelector(`.page-head :text("next ${shown}")`);
    await browser.screenshot("ui-next-run");
  }, 120_000);

  // Last: it stops the server.
  it("the Live badge says Offline when the server goes away", async () => {
    const { page } = browser;
    await page.goto(`${server.url}/`);
    await page.waitForSelector('[data-live="on"]');
    expect(await page.textContent("[data-live]")).toBe("Live");
    await server.stop();
    await page.waitForSelector('[data-live="off"]', { timeout: 30_000 });
    expect(await page.textContent("[data-live]")).toBe("Offline");
    await browser.screenshot("ui-live-offline");
  }, 120_000);
});
