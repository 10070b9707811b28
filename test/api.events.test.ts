import { appendFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSse, type SseMessage } from "../src/api/sse-reader.js";
import { createRun, startApi, type ApiFixture } from "./helpers/api-fixture.js";

let api: ApiFixture;
beforeAll(async () => {
  api = await startApi({ tokens: [{ token: "read-token-123", role: "read" }, { token: "admin-token-123", role: "admin" }] });
  await api.addDag({ id: "live" }, ["slow", "after"]);
});
afterAll(async () => api?.close());

/** Opens the stream and collects messages until `until` returns true (or 20 s pass). */
async function collect(query: string, until: (all: SseMessage[]) => boolean, during?: (out: SseMessage[]) => Promise<void>): Promise<SseMessage[]> {
  const abort = new AbortController();
  const res = await fetch(`${api.url}/api/v1/events?${query}`, { signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const out: SseMessage[] = [];
  const timer = setTimeout(() => abort.abort(), 20_000);
  const reading = (async () => {
    try {
      for await (const m of readSse(res.body as ReadableStream<Uint8Array>, abort.signal)) {
        out.push(m);
        if (until(out)) break;
      }
    } catch {
      // aborted
    }
  })();
  // Wait for "ready" before acting, so the actions' changes are after the subscription.
  while (!out.some((m) => m.event === "ready") && !abort.signal.aborted) await new Promise((r) => setTimeout(r, 20));
  await during?.(out);
  await reading;
  clearTimeout(timer);
  abort.abort();
  return out;
}

describe("SSE /api/v1/events", () => {
  it("needs a token, which EventSource passes as ?token=", async () => {
    expect((await fetch(`${api.url}/api/v1/events`)).status).toBe(401);
    const bad = await fetch(`${api.url}/api/v1/events?token=wrong-token-xyz`);
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });

  it("streams state changes as they happen", async () => {
    const msgs = await collect(
      "token=read-token-123",
      (all) => all.some((m) => m.event === "change" && JSON.parse(m.data).kind === "run" && JSON.parse(m.data).runId === "sse_run_1"),
      async () => {
        const res = await api.call("POST", "dags/live/runs", { token: "admin-token-123", body: { runId: "sse_run_1" } });
        expect(res.status).toBe(201);
      },
    );
    const change = msgs.find((m) => m.event === "change" && JSON.parse(m.data).runId === "sse_run_1");
    expect(change?.id).toMatch(/^\d+$/);
    expect(JSON.parse(change?.data ?? "{}")).toMatchObject({ kind: "run", dagId: "live", runId: "sse_run_1" });
  });

  it("replays changes after Last-Event-ID / since", async () => {
    const since = await api.ctx.store.latestChangeId();
    await createRun(api.ctx, "live", "sse_run_2", "2026-02-01T00:00:00.000Z");
    const msgs = await collect(`token=read-token-123&since=${since}`, (all) => all.some((m) => m.event === "ready"));
    const runs = msgs.filter((m) => m.event === "change").map((m) => JSON.parse(m.data).runId);
    expect(runs).toContain("sse_run_2");
  });

  it("streams a followed try's log lines as they are written, then completes", async () => {
    await createRun(api.ctx, "live", "sse_run_3", "2026-03-01T00:00:00.000Z");
    const { tryNumber, logPath } = await api.startTry("sse_run_3", "slow");
    const streamed = (out: SseMessage[]) => out.filter((m) => m.event === "log").map((m) => JSON.parse(m.data).text).join("");
    const msgs = await collect(
      `token=read-token-123&log=${encodeURIComponent(`sse_run_3|slow|${tryNumber}`)}`,
      (all) => all.some((m) => m.event === "log" && JSON.parse(m.data).complete === true),
      async (out) => {
        for (let i = 1; i <= 3; i++) {
          appendFileSync(logPath, `line ${i}\n`);
          // Wait until that line was streamed before writing the next, so the lines arrive separately.
          const deadline = Date.now() + 10_000;
          while (!streamed(out).includes(`line ${i}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        }
        await api.ctx.store.finishTry({ runId: "sse_run_3", taskId: "slow", tryNumber }, { state: "success", taskState: "success", exitCode: 0, error: null, xcomJson: "1" });
      },
    );
    const logs = msgs.filter((m) => m.event === "log").map((m) => JSON.parse(m.data));
    expect(logs.map((l) => l.text).join("")).toBe("line 1\nline 2\nline 3\n");
    expect(logs.length).toBeGreaterThanOrEqual(2);
    expect(logs[logs.length - 1]).toMatchObject({ runId: "sse_run_3", taskId: "slow", tryNumber, complete: true });
  }, 30_000);

  it("rejects a malformed log spec with a 400", async () => {
    const res = await fetch(`${api.url}/api/v1/events?token=read-token-123&log=nonsense`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("query.log.0");
  });
});
