/**
 * The graph and grid views in headless Chromium over a real API server and store: the graph opens fitted to its box,
 * zooms with the buttons and the wheel, pans by dragging, and stays drawable at 2,000 tasks because only what is in
 * view is drawn; tasks keep their declared order in both views; the grid labels its columns with run dates, scales
 * run bars by duration and filters tasks. Screenshots (also at 800 px in dark mode) go to test-artifacts/.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bash, dag, serializeDag, type Task } from "../src/sdk/index.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { createRun, startApi, type ApiFixture } from "./helpers/api-fixture.js";

const ADMIN = "graph-admin-token";
const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "ui", "dist");
const CHAINS = 40;
const LENGTH = 50;

let api: ApiFixture;
let browser: TestBrowser;

/** Stores a DAG built with the SDK, as the DAG processor would. */
async function storeDag(d: ReturnType<typeof dag>): Promise<void> {
  const serialized = serializeDag(d);
  const fileloc = path.join(api.dir, "dags", `${serialized.id}.ts`);
  await api.ctx.store.upsertDag({ fileloc, serialized, versionHash: `v-${serialized.id}`, bundlePath: fileloc });
}

const viewport = async (page: Page) => {
  const g = page.locator("[data-testid=graph] g.viewport");
  return { k: Number(await g.getAttribute("data-k")), x: Number(await g.getAttribute("data-x")), y: Number(await g.getAttribute("data-y")) };
};
/** Centre of a task's box on the screen. */
const centre = async (page: Page, task: string) => {
  const b = await page.locator(`[data-testid=graph] g.node[data-task="${task}"]`).boundingBox();
  if (!b) throw new Error(`task ${task} is not drawn`);
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
};

beforeAll(async () => {
  api = await startApi({ tokens: [{ token: ADMIN, role: "admin" }], server: { uiDir } });
  // 40 independent chains of 50 tasks, declared chain by chain.
  await storeDag(dag({ id: "big", schedule: null }, () => {
    for (let c = 0; c < CHAINS; c++) {
      let prev: Task | undefined;
      for (let i = 0; i < LENGTH; i++) {
        const t = bash({ id: `c${String(c).padStart(2, "0")}_t${String(i).padStart(2, "0")}`, command: "true" });
        prev?.then(t);
        prev = t;
      }
    }
  }));
  // Declared out of alphabetical order, all downstream of one task.
  await storeDag(dag({ id: "ordered", schedule: null }, () => {
    const start = bash({ id: "start", command: "true" });
    for (const id of ["zeta", "alpha", "mid"]) start.then(bash({ id, command: "true" }));
  }));
  await createRun(api.ctx, "big", "big_run", "2026-03-01T00:00:00.000Z");
  // Runs of "ordered" with growing durations for the grid's bars.
  for (const [i, ms] of [[0, 60], [1, 900], [2, 300]] as const) {
    const runId = `ordered_${i}`;
    await createRun(api.ctx, "ordered", runId, `2026-03-0${i + 1}T06:00:00.000Z`);
    await api.runTry(runId, "start", "ok\n");
    await api.ctx.store.setRunState(runId, "running");
    await new Promise((r) => setTimeout(r, ms));
    await api.ctx.store.setRunState(runId, "success");
  }
  browser = await launchBrowser();
  await browser.page.addInitScript((t) => sessionStorage.setItem("airlock.token", t), ADMIN);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe("graph view", () => {
  it("opens a 2,000-task DAG fitted to its box, zooms, pans and draws only what is in view", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/big?tab=graph`);
    await page.waitForSelector('[data-testid=graph][data-ready=true] g.node[data-task="c39_t49"]', { timeout: 60_000 });
    expect(await page.getAttribute("[data-testid=graph]", "data-nodes")).toBe(String(CHAINS * LENGTH));
    // Fitted: the whole drawing is inside the box, so every task is drawn (as plain boxes at this zoom).
    const boxRect = (await page.locator(".graph-box").boundingBox())!;
    const drawing = (await page.locator("[data-testid=graph] g.viewport").boundingBox())!;
    expect(drawing.x).toBeGreaterThanOrEqual(boxRect.x - 1);
    expect(drawing.y).toBeGreaterThanOrEqual(boxRect.y - 1);
    expect(drawing.x + drawing.width).toBeLessThanOrEqual(boxRect.x + boxRect.width + 1);
    expect(drawing.y + drawing.height).toBeLessThanOrEqual(boxRect.y + boxRect.height + 1);
    expect(await page.getAttribute("[data-testid=graph]", "data-drawn")).toBe(String(CHAINS * LENGTH));
    const fitted = await viewport(page);
    expect(fitted.k).toBeLessThan(0.45);
    expect(await page.locator("[data-testid=graph] g.node text").count()).toBe(0);
    await browser.screenshot("ui-graph-2000-fit");

    // Declared order: chain 0 above chain 1 above chain 39; a chain runs left to right.
    const [a, b, z] = [await centre(page, "c00_t00"), await centre(page, "c01_t00"), await centre(page, "c39_t00")];
    expect(a.y).toBeLessThan(b.y);
    expect(b.y).toBeLessThan(z.y);
    expect((await centre(page, "c00_t00")).x).toBeLessThan((await centre(page, "c00_t01")).x);

    // The buttons zoom around the centre.
    await page.click("[data-action=graph-zoom-in]");
    await expect.poll(async () => (await viewport(page)).k).toBeCloseTo(fitted.k * 1.25, 3);
    // The wheel zooms around the pointer.
    await page.mouse.move(boxRect.x + 100, boxRect.y + 100);
    const before = await viewport(page);
    await page.mouse.wheel(0, -400);
    await expect.poll(async () => (await viewport(page)).k).toBeGreaterThan(before.k * 1.2);
    expect(await page.getAttribute("[data-testid=graph] g.viewport", "transform")).not.toBe(`translate(${fitted.x},${fitted.y}) scale(${fitted.k})`);

    // Zoomed in to readable size: only part of the graph is drawn, and with its labels.
    while ((await viewport(page)).k < 1) await page.click("[data-action=graph-zoom-in]");
    const drawn = Number(await page.getAttribute("[data-testid=graph]", "data-drawn"));
    expect(drawn).toBeGreaterThan(0);
    expect(drawn).toBeLessThan(CHAINS * LENGTH / 4);
    expect(await page.locator("[data-testid=graph] g.node .node-id").count()).toBe(drawn);
    await browser.screenshot("ui-graph-2000-zoomed");

    // Dragging the background pans by the distance moved.
    const start = await viewport(page);
    await page.mouse.move(boxRect.x + 400, boxRect.y + 300);
    await page.mouse.down();
    await page.mouse.move(boxRect.x + 300, boxRect.y + 250, { steps: 5 });
    await page.mouse.up();
    const panned = await viewport(page);
    expect(panned.x - start.x).toBeCloseTo(-100, 0);
    expect(panned.y - start.y).toBeCloseTo(-50, 0);
    expect(panned.k).toBe(start.k);

    // Finding a task zooms to 100 % on it and selects it.
    await page.fill("[data-testid=graph-find]", "c20_t30");
    await page.press("[data-testid=graph-find]", "Enter");
    await page.waitForSelector('[data-testid=graph] g.node[data-task="c20_t30"] .node-id');
    expect((await viewport(page)).k).toBe(1);
    const found = await centre(page, "c20_t30");
    expect(Math.abs(found.x - (boxRect.x + boxRect.width / 2))).toBeLessThan(2);
    expect(Math.abs(found.y - (boxRect.y + boxRect.height / 2))).toBeLessThan(2);
    await expect.poll(() => page.url()).toContain("task=c20_t30");
    await page.waitForSelector('[data-testid=graph] g.node.sel[data-task="c20_t30"]');
    await browser.screenshot("ui-graph-2000-find");

    // "Fit" shows the whole graph again.
    await page.click("[data-action=graph-fit]");
    await expect.poll(async () => (await viewport(page)).k).toBeCloseTo(fitted.k, 4);
  }, 120_000);

  it("keeps the declared order of tasks in the graph and in the grid", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/ordered?tab=graph`);
    await page.waitForSelector('[data-testid=graph][data-ready=true] g.node[data-task="mid"]');
    const ys = [];
    for (const t of ["zeta", "alpha", "mid"]) ys.push((await centre(page, t)).y);
    expect([...ys].sort((p, q) => p - q)).toEqual(ys);
    // A small graph is not enlarged past 100 %, and a click on a task still selects it.
    expect((await viewport(page)).k).toBe(1);
    await page.click('g.node[data-task="alpha"]');
    await page.waitForSelector("[data-testid=task-panel]");
    expect(page.url()).toContain("task=alpha");
    await browser.screenshot("ui-graph-ordered");
    await page.goto(`${api.url}/dags/ordered`);
    await page.waitForSelector(".grid-row[data-task]");
    expect(await page.locator(".grid-row[data-task]").evaluateAll((els) => els.map((e) => e.getAttribute("data-task")))).toEqual(["start", "zeta", "alpha", "mid"]);
  });
});

describe("grid view", () => {
  it("labels columns with run dates, scales run bars by duration and filters tasks", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/ordered`);
    await page.waitForSelector(".grid-row[data-task]");
    const dates = await page.locator(".grid-date").allTextContents();
    expect(dates).toHaveLength(3);
    const local = (iso: string) => {
      const d = new Date(iso);
      const p = (n: number) => String(n).padStart(2, "0");
      return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
    };
    expect(dates).toEqual(["2026-03-01T06:00:00Z", "2026-03-02T06:00:00Z", "2026-03-03T06:00:00Z"].map(local));
    // Bars: the longest run (900 ms) is full height, the 300 ms one about a third, the 60 ms one the shortest.
    const bars = await page.locator(".run-bar").evaluateAll((els) => els.map((e) => ({ h: e.getBoundingClientRect().height, ms: Number(e.getAttribute("data-duration-ms")) })));
    expect(bars[1]!.h).toBe(36);
    expect(bars[0]!.h).toBeLessThan(bars[2]!.h);
    expect(bars[2]!.h).toBeLessThan(bars[1]!.h);
    expect(bars[2]!.h).toBeCloseTo((36 * bars[2]!.ms) / bars[1]!.ms, -0.5);
    // Clicking a date selects its run.
    await page.click(".grid-date >> nth=0");
    await page.waitForSelector("[data-testid=run-panel]");
    expect(page.url()).toContain("run=ordered_0");
    await browser.screenshot("ui-grid-dates");

    await page.fill("[data-testid=grid-filter]", "a");
    await page.waitForFunction(() => document.querySelectorAll(".grid-row[data-task]").length === 3);
    expect(await page.locator(".grid-row[data-task]").evaluateAll((els) => els.map((e) => e.getAttribute("data-task")))).toEqual(["start", "zeta", "alpha"]);
    expect(await page.locator(".grid-label").allTextContents()).toEqual(["start", "zeta", "alpha"]);
    expect(await page.textContent("[data-testid=grid-filter-count]")).toBe("3 of 4 tasks");
  });

  it("works at 800 px in dark mode (graph and grid)", async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 800, height: 900 });
    await page.emulateMedia({ colorScheme: "dark" });
    try {
      for (const [tab, ready] of [["grid", ".grid-row[data-task]"], ["graph", "[data-testid=graph][data-ready=true] g.node"]] as const) {
        await page.goto(`${api.url}/dags/ordered?tab=${tab}`);
        await page.waitForSelector(ready);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        expect((bg.match(/\d+/g) ?? []).map(Number).reduce((a, b) => a + b, 0)).toBeLessThan(150);
        await browser.screenshot(`ui-${tab}-800-dark`);
      }
      await page.goto(`${api.url}/dags/big?tab=graph`);
      await page.waitForSelector("[data-testid=graph][data-ready=true] g.node");
      await browser.screenshot("ui-graph-2000-800-dark");
    } finally {
      await page.emulateMedia({ colorScheme: "light" });
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });
});
