/**
 * Pipelines in the API and the UI, over a real API server and store with a real browser: the /pipelines and
 * /datasets routes; a pipeline's graph shows its datasets between its nodes; a dataset page lists its versions with
 * links to the runs that wrote them. Screenshots go to test-artifacts/.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { node, pipeline, serializeDag } from "../src/sdk/index.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { createRun, startApi, type ApiFixture } from "./helpers/api-fixture.js";

const TOKEN = "pipelines-ui-admin";
const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "ui", "dist");

let api: ApiFixture;
let browser: TestBrowser;

beforeAll(async () => {
  api = await startApi({ tokens: [{ token: TOKEN, role: "admin" }], server: { uiDir } });
  const p = pipeline({ id: "flights", catalog: { companies: { type: "csv", path: "data/companies.csv" } } }, [
    node({ name: "preprocess", inputs: ["companies"], outputs: ["clean"], run: async () => ({}) }),
    node({ name: "train", inputs: ["clean"], outputs: ["model"], run: async () => ({}) }),
  ]);
  const serialized = serializeDag(p);
  const fileloc = path.join(api.dir, "dags", "flights.ts");
  await api.ctx.store.upsertDag({ fileloc, serialized, versionHash: "v-flights", bundlePath: fileloc });
  for (const [runId, size] of [["run_one", 1200], ["run_two", 2400]] as const) {
    await createRun(api.ctx, "flights", runId, runId === "run_one" ? "2026-01-01T00:00:00.000Z" : "2026-01-02T00:00:00.000Z");
    await api.ctx.store.addDatasetVersion({ name: "clean", dagId: "flights", runId, taskId: "preprocess", tryNumber: 1, type: "json", uri: `/data/${runId}/clean`, size });
  }
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe("pipelines in the API and UI", () => {
  it("API: lists and shows pipelines and datasets; a plain id is a 404 that says what to do", async () => {
    const list = await api.call("GET", "pipelines", { token: TOKEN });
    expect(list.status).toBe(200);
    expect(list.json.pipelines.map((p: any) => p.pipelineId)).toEqual(["flights"]);
    const show = await api.call("GET", "pipelines/flights", { token: TOKEN });
    expect(show.json.datasets.map((d: any) => [d.name, d.producer, d.consumers])).toEqual([
      ["clean", "preprocess", ["train"]], ["companies", null, ["preprocess"]], ["model", "train", []],
    ]);
    const datasets = await api.call("GET", "datasets", { token: TOKEN });
    expect(datasets.json.datasets).toEqual([expect.objectContaining({ name: "clean", versions: 2, latest: expect.objectContaining({ runId: "run_two", size: 2400 }) })]);
    const versions = await api.call("GET", "datasets/clean", { token: TOKEN });
    expect(versions.json.versions.map((v: any) => v.runId)).toEqual(["run_two", "run_one"]);
    const missing = await api.call("GET", "datasets/nope", { token: TOKEN });
    expect(missing.status).toBe(404);
    expect(missing.json.error.hint).toMatch(/airlock datasets list/);
    const run = await api.call("POST", "pipelines/flights/runs", { token: TOKEN, body: { conf: {} } });
    expect(run.status).toBe(201);
    expect(run.json.dagId).toBe("flights");
  });

  it("the graph shows datasets between nodes and a dataset page links each version to its run", async () => {
    const { page } = browser;
    await page.goto(`${api.url}/dags/flights?tab=graph&token=${TOKEN}`);
    await page.waitForSelector('[data-dataset="clean"]');
    const shown = await page.$$eval("g.dataset-node", (els) => els.map((e) => e.getAttribute("data-dataset")));
    expect(shown.sort()).toEqual(["clean", "companies", "model"]);
    expect(await page.locator('g.node[data-task="preprocess"]').count()).toBe(1);
    // preprocess → clean → train: three edges through datasets, no direct preprocess → train edge.
    expect(await page.locator("[data-testid=graph] .edge").count()).toBe(4);
    await browser.screenshot("ui-pipeline-graph");
    await page.click('[data-dataset="clean"]');
    await page.waitForSelector('[data-testid="dataset-versions"] tr[data-version]');
    expect(page.url()).toContain("/datasets/clean");
    const runs = await page.$$eval('[data-testid="dataset-versions"] a.run-link', (els) => els.map((e) => e.textContent));
    expect(runs).toEqual(["run_two", "run_one"]);
    await browser.screenshot("ui-dataset-versions");
    await page.click('a.run-link:has-text("run_one")');
    await page.waitForSelector('[data-dag-id="flights"]');
    expect(page.url()).toContain("run=run_one");
    await page.click('nav a:has-text("Datasets")');
    await page.waitForSelector('[data-testid="datasets"] tr[data-dataset="clean"]');
  });
});
