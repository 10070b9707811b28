/**
 * The Workers and Routes pages over a real API server and store: a registered worker shows with its host, state,
 * queues and running try; a route is set from the form (bad input answered inline), listed with who set it, and
 * removed; a queued task whose queue has no live worker says why in the task panel.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { createRun, startApi, type ApiFixture } from "./helpers/api-fixture.js";

const ADMIN = "fleet-admin-token";
const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "ui", "dist");

let api: ApiFixture;
let browser: TestBrowser;

beforeAll(async () => {
  api = await startApi({ tokens: [{ token: ADMIN, role: "admin" }], server: { uiDir } });
  await api.addDag({ id: "sales_etl" }, ["extract", "load"]);
  await createRun(api.ctx, "sales_etl", "fleet_run_1", "2026-01-01T00:00:00.000Z");
  await api.ctx.store.registerWorker({ workerId: "test", hostname: "server-a", machine: "m", pid: 1, queues: ["default"], backends: ["process"], version: "0.1.0" });
  await api.startTry("fleet_run_1", "extract");
  browser = await launchBrowser();
  await browser.page.goto(`${api.url}/`);
  await browser.page.evaluate((t) => sessionStorage.setItem("airlock.token", t), ADMIN);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe("fleet pages", () => {
  it("lists workers with host, state, queues and running tries", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/workers`);
    await page.waitForSelector('[data-worker="test"]');
    const row = await page.textContent('[data-worker="test"]');
    expect(row).toContain("server-a");
    expect(row).toContain("default");
    expect(row).toContain("sales_etl.extract #1");
    expect(await page.getAttribute('[data-worker="test"] [data-worker-state]', "data-worker-state")).toBe("live");
    expect(await page.getAttribute("nav a.active", "href")).toBe("/workers");
    await browser.screenshot("ui-workers");
  });

  it("sets, lists and removes a route, answering bad input inline", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/routes`);
    await page.waitForSelector("[data-testid=route-form]");
    await page.fill("input[name=target]", "no_such_dag");
    await page.fill("input[name=queue]", "server-b");
    await page.click("[data-action=set-route]");
    await page.waitForSelector("[data-testid=route-form] .inline-error");
    expect(await page.textContent("[data-testid=route-form] .inline-error")).toContain("no_such_dag");

    await page.fill("input[name=target]", "sales_etl.load");
    await page.fill("input[name=queue]", "server-b");
    await page.fill("input[name=fallbacks]", "server-c, default");
    await page.click("[data-action=set-route]");
    await page.waitForSelector('[data-route="sales_etl.load"]');
    const row = await page.textContent('[data-route="sales_etl.load"]');
    expect(row).toContain("server-b");
    expect(row).toContain("server-c");
    expect(row).toContain("api (admin token)");
    expect((await api.ctx.store.listRoutes()).map((r) => [r.target, r.queue, r.fallbacks])).toEqual([["sales_etl.load", "server-b", ["server-c", "default"]]]);
    await browser.screenshot("ui-routes");

    page.once("dialog", (d) => void d.accept());
    await page.click('[data-route="sales_etl.load"] [data-action=remove-route]');
    await page.waitForSelector('[data-route="sales_etl.load"]', { state: "detached" });
    expect(await api.ctx.store.listRoutes()).toEqual([]);
  });

  it("shows why a queued task waits", async () => {
    const { page } = browser;
    await api.ctx.store.transitionTask("fleet_run_1", "load", ["none"], { state: "queued", queue: "server-z" });
    await page.goto(`${api.url}/dags/sales_etl?run=fleet_run_1&task=load`);
    await page.waitForSelector("[data-testid=wait-reason]");
    expect(await page.textContent("[data-testid=wait-reason]")).toContain('no live worker serves queue "server-z"');
  });
});
