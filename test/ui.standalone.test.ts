/**
 * The web UI end to end: a real `airlock standalone` running real tasks, driven by headless Chromium.
 * Screenshots are kept in test-artifacts/.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api/client.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { startStandalone, type Standalone } from "./helpers/standalone.js";

const ADMIN = "ui-admin-token-123";

// A task that prints lines slowly, so the UI can be seen following it.
const SLOW_DAG = `
import { bash, dag } from "airlock";
export default dag({ id: "slow_lines", schedule: null, params: { count: 3, pause: 0.3, gate: "" }, tags: ["ui"],
  paramsSchema: { type: "object", properties: { count: { type: "integer", minimum: 1, maximum: 50 } } } }, () => {
  // With a gate, the task then waits until that file exists, so a test decides when it ends.
  const print = bash({ id: "print_lines", command: [
    "for i in $(seq 1 {{ params.count }}); do echo \\"line $i of {{ params.count }}\\"; sleep {{ params.pause }}; done",
    "if [ -n \\"{{ params.gate }}\\" ]; then while [ ! -e \\"{{ params.gate }}\\" ]; do sleep 0.1; done; echo gate opened; fi",
  ].join("\\n") });
  const after = bash({ id: "after", command: "echo all done" });
  print.then(after);
});
`;

let server: Standalone;
let browser: TestBrowser;
let client: ApiClient;

beforeAll(async () => {
  server = await startStandalone({ dags: { "slow.ts": SLOW_DAG }, tokens: [{ token: ADMIN, role: "admin" }] });
  client = new ApiClient({ url: server.url, token: ADMIN });
  // Wait for the DAG file to be parsed.
  for (let i = 0; i < 200; i++) {
    const list = await client.listDags().catch(() => undefined);
    if (list?.dags.some((d) => d.dagId === "slow_lines")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("web UI on airlock standalone", () => {
  it("signs in from ?token=, triggers a DAG from the trigger dialog and shows it turn successful without a reload", async () => {
    const { page } = browser;
    await page.goto(`${server.url}/?token=${ADMIN}`);
    await page.waitForSelector('[data-dag-id="slow_lines"]');
    expect(page.url()).not.toContain("token=");
    expect(await page.evaluate(() => sessionStorage.getItem("airlock.token"))).toBe(ADMIN);
    await page.click('a.dag-link:has-text("slow_lines")');
    await page.waitForSelector('h1[data-dag-id="slow_lines"]');
    // A marker on window survives only if the page is never reloaded.
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

    await page.click("[data-action=trigger]");
    await page.waitForSelector("[data-testid=trigger-dialog]");
    // The form comes from the params: a bad value is refused with the server's message naming the param.
    await page.fill('input[name="param-count"]', "0");
    await page.click("[data-action=trigger-submit]");
    await page.waitForSelector("[data-testid=trigger-error]");
    expect(await page.textContent("[data-testid=trigger-error]")).toContain("count");
    await page.fill('input[name="param-count"]', "4");
    await page.click("[data-action=trigger-submit]");

    await page.waitForSelector("[data-testid=run-panel] .run-state");
    await page.waitForSelector('[data-testid=run-panel] .run-state[data-state="success"]', { timeout: 60_000 });
    const cells = await page.locator('.grid-row[data-task="after"] .cell').evaluateAll((els) => els.map((e) => e.getAttribute("data-state")));
    expect(cells.at(-1)).toBe("success");
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    await browser.screenshot("ui-trigger-success");

    const runs = await client.listRuns("slow_lines");
    expect(runs.runs[0]?.state).toBe("success");
    expect(runs.runs[0]?.conf).toMatchObject({ count: 4 });
  }, 120_000);

  it("follows a task's log as its lines arrive, and searches it", async () => {
    const { page } = browser;
    const gate = path.join(server.dir, "gate-open");
    const run = await client.triggerDagRun("slow_lines", { conf: { count: 8, pause: 0.2, gate } });
    await page.goto(`${server.url}/dags/slow_lines?run=${encodeURIComponent(run.runId)}&task=print_lines`);
    await page.waitForSelector("[data-testid=log-viewer]");
    // Lines show while the task is still running (it waits for the gate): the log is followed, not read at the end.
    await page.waitForSelector('[data-testid=log-viewer] .log-line:has-text("line 8 of 8")', { timeout: 60_000 });
    expect(await page.textContent("[data-testid=log-viewer] .log-body")).not.toContain("gate opened");
    expect(await page.getAttribute("[data-log-status]", "data-log-status")).toBe("following");
    await page.waitForSelector('[data-testid=task-panel] .task-state[data-state="running"]');
    await browser.screenshot("ui-log-following");

    writeFileSync(gate, "");
    await page.waitForSelector('[data-testid=log-viewer] .log-line:has-text("gate opened")', { timeout: 60_000 });
    await page.waitForSelector('[data-testid=log-viewer][data-complete="true"]', { timeout: 60_000 });
    const lines = await page.locator("[data-testid=log-viewer] .log-line .lt").allTextContents();
    expect(lines.filter((l) => /^line \d of 8$/.test(l))).toEqual(Array.from({ length: 8 }, (_, i) => `line ${i + 1} of 8`));
    await page.waitForSelector('[data-testid=task-panel] .task-state[data-state="success"]');

    await page.fill('input[aria-label="Search log"]', "line 3");
    expect(await page.textContent("[data-testid=log-matches]")).toContain("1 matching lines");
    expect(await page.locator("[data-testid=log-viewer] mark").count()).toBe(1);
    await browser.screenshot("ui-log-search");
  }, 120_000);

  it("shows the time each log line was written, and a full-screen log viewer", async () => {
    const { page } = browser;
    const run = await client.triggerDagRun("slow_lines", { conf: { count: 4, pause: 1.2 } });
    await page.goto(`${server.url}/dags/slow_lines?run=${encodeURIComponent(run.runId)}&task=print_lines`);
    await page.waitForSelector('[data-testid=log-viewer][data-complete="true"]', { timeout: 60_000 });
    const stamped = await page.locator("[data-testid=log-viewer] .log-line").evaluateAll((els) => els.map((e) => [e.querySelector(".lt")?.textContent, e.querySelector(".ts")?.getAttribute("data-ts")]));
    const times = stamped.filter(([l]) => /^line \d of 4$/.test(l ?? "")).map(([, t]) => Date.parse(t ?? ""));
    expect(times).toHaveLength(4);
    expect(times.every((t) => Number.isFinite(t))).toBe(true);
    // Written 1.2 s apart: each line's time is later than the one before, the last at least 3 s after the first.
    for (let i = 1; i < 4; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(3000);
    // The API gives the same marks: the first dates the log's first byte.
    const chunk = await client.readLog("slow_lines", run.runId, "print_lines", 1);
    expect(chunk.times[0]?.offset).toBe(0);
    expect(chunk.times.length).toBeGreaterThanOrEqual(4);

    await page.click("[data-action=log-full-screen]");
    await page.waitForSelector('[data-testid=log-viewer][data-full="true"]');
    const box = (await page.locator("[data-testid=log-viewer]").boundingBox())!;
    const size = page.viewportSize()!;
    expect([box.x, box.y, box.width, box.height]).toEqual([0, 0, size.width, size.height]);
    await browser.screenshot("ui-log-full-screen");
    await page.setViewportSize({ width: 800, height: 900 });
    await page.emulateMedia({ colorScheme: "dark" });
    try {
      await browser.screenshot("ui-log-full-screen-800-dark");
      await page.keyboard.press("Escape");
      await page.waitForSelector('[data-testid=log-viewer][data-full="false"]');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
      await browser.screenshot("ui-log-times-800-dark");
    } finally {
      await page.emulateMedia({ colorScheme: "light" });
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  }, 120_000);

  it("shows an import error as soon as a DAG file breaks, without a reload", async () => {
    const { page } = browser;
    await page.goto(`${server.url}/`);
    await page.waitForSelector('[data-dag-id="slow_lines"]');
    expect(await page.locator("[data-testid=import-errors]").count()).toBe(0);
    server.writeDag("broken.ts", `import { dag } from "airlock";\nexport default dag({ id: "broken", schedule: null }, () => {\n  this is not typescript\n});\n`);
    await page.waitForSelector("[data-testid=import-errors]", { timeout: 60_000 });
    await page.click("[data-testid=import-errors] .banner-head");
    const text = await page.textContent("[data-testid=import-errors]");
    expect(text).toContain("broken.ts");
    await browser.screenshot("ui-import-error");
  }, 120_000);

  it("graph view lays out the tasks and colours them by the run's states", async () => {
    const { page } = browser;
    await page.goto(`${server.url}/dags/slow_lines?tab=graph`);
    await page.waitForSelector('[data-testid=graph] g.node[data-task="after"]');
    const states = await page.locator("[data-testid=graph] g.node").evaluateAll((els) => els.map((e) => [e.getAttribute("data-task"), e.getAttribute("data-state")]));
    expect(states).toContainEqual(["print_lines", "success"]);
    // Left-to-right layout: the upstream task is left of its downstream task.
    const x = async (t: string) => (await page.locator(`g.node[data-task="${t}"]`).boundingBox())?.x ?? 0;
    expect(await x("print_lines")).toBeLessThan(await x("after"));
    await browser.screenshot("ui-graph");
  }, 60_000);
});
