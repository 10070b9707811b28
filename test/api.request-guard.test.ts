/**
 * DNS rebinding and cross-site requests: with no tokens (the default) the API answers only the Host names it is
 * bound to (api.allowedHosts adds more), and a state-changing request needs a same-origin proof (`Origin` of the
 * server itself, `Sec-Fetch-Site: same-origin`, or `X-Airlock-Request`, which the UI and the API client send).
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api/client.js";
import { startApi, type ApiFixture } from "./helpers/api-fixture.js";

/** A raw HTTP request with exactly these headers (fetch would add or refuse some, such as Host). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url + path, { method, headers: { ...headers, ...(body ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

let api: ApiFixture;
let host: string;

beforeAll(async () => {
  api = await startApi();
  await api.addDag({ id: "etl" }, ["extract"]);
  host = new URL(api.url).host;
});
afterAll(async () => {
  await api.close();
});

describe("the API without tokens", () => {
  it("refuses a Host it is not bound to (DNS rebinding), for reads and the UI too", async () => {
    for (const path of ["/api/v1/health", "/api/v1/dags", "/"]) {
      const res = await raw(api.url, "GET", path, { host: "attacker.example" });
      expect(res.status, path).toBe(403);
    }
    const bad = await raw(api.url, "GET", "/api/v1/dags", { host: `attacker.example:${new URL(api.url).port}` });
    expect(bad.json.error.message).toContain("attacker.example");
    expect(bad.json.error.hint).toContain("api.allowedHosts");
    for (const name of [host, `localhost:${new URL(api.url).port}`, "127.0.0.1"]) {
      expect((await raw(api.url, "GET", "/api/v1/health", { host: name })).status, name).toBe(200);
    }
  });

  it("refuses a state-changing request without a same-origin proof, and from another origin", async () => {
    const body = JSON.stringify({ conf: {} });
    const none = await raw(api.url, "POST", "/api/v1/dags/etl/runs", { host }, body);
    expect(none.status).toBe(403);
    expect(none.json.error.hint).toContain("X-Airlock-Request");
    const cross = await raw(api.url, "POST", "/api/v1/dags/etl/runs", { host, origin: "http://attacker.example" }, body);
    expect(cross.status).toBe(403);
    const site = await raw(api.url, "PATCH", "/api/v1/dags/etl", { host, "sec-fetch-site": "cross-site" }, JSON.stringify({ isPaused: true }));
    expect(site.status).toBe(403);
    expect((await api.ctx.store.listRuns({ dagId: "etl" })).total).toBe(0);
  });

  it("accepts the proofs the UI, a browser and the API client give", async () => {
    const body = JSON.stringify({ isPaused: false });
    expect((await raw(api.url, "PATCH", "/api/v1/dags/etl", { host, origin: `http://${host}` }, body)).status).toBe(200);
    expect((await raw(api.url, "PATCH", "/api/v1/dags/etl", { host, "sec-fetch-site": "same-origin" }, body)).status).toBe(200);
    expect((await raw(api.url, "PATCH", "/api/v1/dags/etl", { host, "x-airlock-request": "1" }, body)).status).toBe(200);
    const run = await new ApiClient({ url: api.url }).triggerDagRun("etl", { conf: {} });
    expect(run.dagId).toBe("etl");
  });
});

describe("api.allowedHosts", () => {
  it("adds names the server answers to", async () => {
    const other = await startApi({ configure: (c) => { c.api.allowedHosts = ["airlock.internal"]; } });
    try {
      expect((await raw(other.url, "GET", "/api/v1/health", { host: "airlock.internal:8080" })).status).toBe(200);
      expect((await raw(other.url, "GET", "/api/v1/health", { host: "attacker.example" })).status).toBe(403);
    } finally {
      await other.close();
    }
  });
});

describe("the HTTP layer", () => {
  it("answers headers over 16 KiB with 431 and the JSON error body", async () => {
    const res = await raw(api.url, "GET", "/api/v1/health", { host, cookie: `c=${"x".repeat(20_000)}` });
    expect(res.status).toBe(431);
    expect(res.json).toEqual({ error: { code: "invalid_input", message: expect.stringContaining("headers are larger"), hint: expect.any(String) } });
  });
});
