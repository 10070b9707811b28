/**
 * The web UI's graph of a DAG with task groups, on a real `airlock standalone` driven by headless Chromium: a group
 * shows collapsed as one node coloured by its tasks' states; opening it shows its tasks inside a box, nested groups
 * open on their own, and clicking the box's name collapses it again. A DAG that Airlock paused says why.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api/client.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { startStandalone, waitForDags, type Standalone } from "./helpers/standalone.js";

const ADMIN = "ui-authoring-admin-token";
const GROUPED = `
import { bash, chain, dag, group } from "airlock";
export default dag({ id: "grouped_ui" }, () => {
  const start = bash({ id: "start", command: "echo start" });
  const extract = group({ id: "extract" }, () => {
    bash({ id: "a", command: "echo a" });
    bash({ id: "b", command: "exit 99" });
    group({ id: "inner" }, () => { bash({ id: "c", command: "echo c" }); });
  });
  const end = bash({ id: "end", command: "echo end", triggerRule: "all_done" });
  chain(start, extract, end);
});
`;

const FLAKY = `
import { bash, dag } from "airlock";
export default dag({ id: "flaky_ui", maxConsecutiveFailedRuns: 1 }, () => { bash({ id: "boom", command: "exit 1" }); });
`;

let server: Standalone;
let browser: TestBrowser;
let client: ApiClient;

beforeAll(async () => {
  server = await startStandalone({ dags: { "grouped.ts": GROUPED, "flaky.ts": FLAKY }, tokens: [{ token: ADMIN, role: "admin" }] });
  client = new ApiClient({ url: server.url, token: ADMIN });
  await waitForDags(client, ["grouped_ui", "flaky_ui"]);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("graph of task groups", () => {
  it("collapses a group to one node and opens it on click", async () => {
    const run = await client.triggerDagRun("grouped_ui");
    const done = await client.waitForRun("grouped_ui", run.runId, { timeoutMs: 60_000 });
    expect(done.state).toBe("success");
    const { page } = browser;
    await page.goto(`${server.url}/dags/grouped_ui?tab=graph&token=${ADMIN}`);
    const collapsed = '[data-testid=graph] g.node[data-group="extract"]';
    await page.waitForSelector(collapsed);
    expect(await page.getAttribute(collapsed, "data-expanded")).toBe("false");
    // Its tasks: a success, b skipped, inner.c success; the node shows the count and its most urgent state.
    expect(await page.getAttribute(collapsed, "data-state")).toBe("skipped");
    expect(await page.textContent(collapsed)).toContain("3 tasks");
    expect(await page.locator('[data-testid=graph] g.node[data-task="extract.a"]').count()).toBe(0);
    await browser.screenshot("ui-graph-group-collapsed");

    await page.click(collapsed);
    await page.waitForSelector('[data-testid=graph] g.node[data-task="extract.a"][data-state="success"]');
    expect(await page.getAttribute('[data-testid=graph] g.node[data-task="extract.b"]', "data-state")).toBe("skipped");
    expect(await page.locator('[data-testid=graph] g.cluster[data-group="extract"]').count()).toBe(1);
    const inner = '[data-testid=graph] g.node[data-group="extract.inner"]';
    expect(await page.getAttribute(inner, "data-state")).toBe("success");
    await page.click(inner);
    await page.waitForSelector('[data-testid=graph] g.node[data-task="extract.inner.c"]');
    await browser.screenshot("ui-graph-group-expanded");

    await page.click('[data-testid=graph] g.cluster[data-group="extract"] .cluster-id');
    await page.waitForSelector(collapsed);
    expect(await page.locator('[data-testid=graph] g.node[data-task="extract.inner.c"]').count()).toBe(0);
    expect(await page.locator('[data-testid=graph] g.cluster').count()).toBe(0);
  });

  it("shows why Airlock paused a DAG", async () => {
    const run = await client.triggerDagRun("flaky_ui");
    expect((await client.waitForRun("flaky_ui", run.runId, { timeoutMs: 60_000 })).state).toBe("failed");
    const { page } = browser;
    await page.goto(`${server.url}/dags/flaky_ui?token=${ADMIN}`);
    await page.waitForSelector("[data-testid=paused-reason]");
    expect(await page.textContent("[data-testid=paused-reason]")).toContain("paused after 1 failed run in a row (maxConsecutiveFailedRuns)");
    await browser.screenshot("ui-paused-reason");
  });
});
