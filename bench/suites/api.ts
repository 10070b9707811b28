/**
 * API and UI benchmarks: latency of the DAG list with 1,000 DAGs (store populated directly), and the time the
 * browser takes to render the grid of 100 runs × 100 tasks (goal: under one second each).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRun, startApi, type ApiFixture } from "../../test/helpers/api-fixture.js";
import { hasChromium, launchBrowser } from "../../test/helpers/browser.js";
import type { TaskState } from "../../src/store/types.js";
import type { BenchRow } from "../lib.js";


const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const uiDir = path.join(root, "ui", "dist");

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
}

async function timeRequests(api: ApiFixture, url: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await api.call("GET", url);
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${res.text.slice(0, 200)}`);
  }
  return times.sort((a, b) => a - b);
}

async function dagListBench(): Promise<BenchRow[]> {
  const api = await startApi();
  try {
    const tasks = Array.from({ length: 10 }, (_, i) => `task_${i}`);
    for (let i = 0; i < 1000; i++) {
      await api.addDag({ id: `dag_${String(i).padStart(4, "0")}`, tags: [`team${i % 10}`, i % 2 ? "daily" : "hourly"], schedule: "@daily", startDate: "2026-01-01" }, tasks);
    }
    // Recent runs on a tenth of the DAGs, so the list has run dots to fetch.
    for (let i = 0; i < 1000; i += 10) {
      for (let r = 0; r < 5; r++) await createRun(api.ctx, `dag_${String(i).padStart(4, "0")}`, `r_${i}_${r}`, new Date(Date.UTC(2026, 0, r + 1)).toISOString());
    }
    await timeRequests(api, "dags", 3); // warm-up
    const page = await timeRequests(api, "dags", 30);
    const full = await timeRequests(api, "dags?limit=1000", 10);
    const filtered = await timeRequests(api, "dags?tags=team3&search=09", 30);
    const expected = Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 10 === 3 && `dag_${String(i).padStart(4, "0")}`.includes("09")).length;
    const check = await api.call("GET", "dags?tags=team3&search=09");
    if (check.json.total !== expected) throw new Error(`the filtered list has ${check.json.total} DAGs, expected ${expected}`);
    return [
      { suite: "api", name: "dag list, 1,000 DAGs, default page (100) — median", value: round(percentile(page, 0.5)), unit: "ms", goal: "< 1000 ms" },
      { suite: "api", name: "dag list, 1,000 DAGs, default page (100) — p95", value: round(percentile(page, 0.95)), unit: "ms", goal: "< 1000 ms" },
      { suite: "api", name: "dag list, 1,000 DAGs, all in one page — median", value: round(percentile(full, 0.5)), unit: "ms", goal: "< 1000 ms" },
      { suite: "api", name: "dag list, 1,000 DAGs, tag + search filter — median", value: round(percentile(filtered, 0.5)), unit: "ms", goal: "< 1000 ms" },
    ];
  } finally {
    await api.close();
  }
}

const STATES: TaskState[] = ["success", "success", "success", "success", "failed", "skipped", "upstream_failed", "up_for_retry", "running", "queued"];

async function gridBench(): Promise<BenchRow[]> {
  if (!existsSync(path.join(uiDir, "index.html"))) {
    execFileSync(process.execPath, [path.join(root, "node_modules/vite/bin/vite.js"), "build", "--config", path.join(root, "ui/vite.config.ts"), "--logLevel", "warn"], { stdio: "inherit" });
  }
  if (!hasChromium()) throw new Error("Chromium is not installed at /usr/bin/chromium: install Debian's chromium package");
  const api = await startApi({ server: { uiDir } });
  const browser = await launchBrowser();
  try {
    const tasks = Array.from({ length: 100 }, (_, i) => `step_${String(i).padStart(3, "0")}`);
    await api.addDag({ id: "big" }, tasks);
    for (let r = 0; r < 100; r++) {
      const runId = `run_${String(r).padStart(3, "0")}`;
      await createRun(api.ctx, "big", runId, new Date(Date.UTC(2026, 0, 1) + r * 3_600_000).toISOString());
      for (let t = 0; t < tasks.length; t++) {
        await api.ctx.store.transitionTask(runId, tasks[t] as string, ["none"], { state: STATES[(r * 7 + t * 3) % STATES.length] as TaskState });
      }
      await api.ctx.store.setRunState(runId, r % 9 === 0 ? "failed" : "success");
    }
    const timings: number[] = [];
    for (let i = 0; i < 4; i++) {
      await browser.page.goto("about:blank");
      await browser.page.goto(`${api.url}/dags/big?runs=100`);
      await browser.page.waitForSelector('[data-testid=grid][data-runs="100"][data-tasks="100"]', { timeout: 30_000 });
      const cells = await browser.page.locator(".grid-row .cell").count();
      if (cells !== 10_000) throw new Error(`the grid rendered ${cells} cells, expected 10000`);
      // Milliseconds from the start of navigation to the frame after the grid's commit (marked by the UI).
      timings.push(await browser.page.evaluate(() => {
        const mark = performance.getEntriesByName("airlock:grid-painted").find((m) => (m as PerformanceMark).detail?.runs === 100);
        return mark ? mark.startTime : Number.NaN;
      }));
    }
    const warm = timings.slice(1).sort((a, b) => a - b);
    return [
      { suite: "api", name: "grid 100 runs × 100 tasks, navigation to painted (first load)", value: round(timings[0] ?? Number.NaN), unit: "ms", goal: "< 1000 ms" },
      { suite: "api", name: "grid 100 runs × 100 tasks, navigation to painted (median of reloads)", value: round(percentile(warm, 0.5)), unit: "ms", goal: "< 1000 ms" },
    ];
  } finally {
    await browser.close();
    await api.close();
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Runs the suite. */
export async function run(): Promise<BenchRow[]> {
  return [...(await dagListBench()), ...(await gridBench())];
}

// `npx tsx bench/suites/api.ts` runs this suite alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const row of await run()) console.log(`${row.name}: ${row.value} ${row.unit}${row.goal ? ` (goal ${row.goal})` : ""}`);
}
