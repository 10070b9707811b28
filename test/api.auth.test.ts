import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type ApiFixture } from "./helpers/api-fixture.js";

const READ = "read-token-123";
const ADMIN = "admin-token-123";
let api: ApiFixture;
beforeAll(async () => {
  api = await startApi({ tokens: [{ token: READ, role: "read" }, { token: ADMIN, role: "admin" }], maxBodyBytes: 2048 });
  await api.addDag({ id: "guarded" });
});
afterAll(async () => api?.close());

describe("bearer-token auth", () => {
  it("answers 401 without a token or with a wrong one, with a hint", async () => {
    const none = await api.call("GET", "dags");
    expect(none.status).toBe(401);
    expect(none.json.error).toMatchObject({ code: "unauthorized" });
    expect(none.json.error.hint).toContain("Bearer");
    expect((await api.call("GET", "dags", { token: "not-a-real-token" })).status).toBe(401);
    expect((await api.call("GET", "dags", { headers: { authorization: `Basic ${READ}` } })).status).toBe(401);
  });

  it("lets a read token read but not act (403)", async () => {
    expect((await api.call("GET", "dags", { token: READ })).status).toBe(200);
    const act = await api.call("PATCH", "dags/guarded", { token: READ, body: { isPaused: true } });
    expect(act.status).toBe(403);
    expect(act.json.error.code).toBe("forbidden");
    expect((await api.call("POST", "dags/guarded/runs", { token: READ, body: {} })).status).toBe(403);
    expect((await api.call("GET", "auth", { token: READ })).json).toEqual({ role: "read", authEnabled: true });
  });

  it("lets an admin token act", async () => {
    expect((await api.call("PATCH", "dags/guarded", { token: ADMIN, body: { isPaused: true } })).status).toBe(200);
    expect((await api.call("GET", "auth", { token: ADMIN })).json.role).toBe("admin");
  });

  it("keeps health, version and the OpenAPI document public", async () => {
    expect((await api.call("GET", "health")).status).toBe(200);
    expect((await api.call("GET", "version")).status).toBe(200);
    expect((await api.call("GET", "openapi.json")).status).toBe(200);
  });

  it("does not accept ?token= outside the event stream", async () => {
    expect((await api.call("GET", `dags?token=${READ}`)).status).toBe(401);
  });

  it("limits request bodies (413) and rejects malformed JSON (400) with JSON errors", async () => {
    const big = await api.call("POST", "dags/guarded/runs", { token: ADMIN, body: { conf: { blob: "x".repeat(5000) } } });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe("too_large");
    const broken = await api.call("POST", "dags/guarded/runs", { token: ADMIN, rawBody: "{\"conf\": ", headers: { "content-type": "application/json" } });
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe("invalid_input");
    const wrongType = await api.call("POST", "dags/guarded/runs", { token: ADMIN, rawBody: "conf=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(wrongType.status).toBe(415);
    expect(wrongType.json.error.hint).toContain("application/json");
  });
});

describe("without tokens", () => {
  it("serves with auth off but only on the loopback interface, and warns", async () => {
    const open = await startApi({ server: { host: "0.0.0.0" } });
    try {
      expect(open.url).toContain("127.0.0.1");
      expect(open.logs.join("\n")).toMatch(/no API token is configured.*127\.0\.0\.1/);
      expect((await open.call("GET", "dags")).status).toBe(200);
      expect((await open.call("GET", "auth")).json).toEqual({ role: "admin", authEnabled: false });
    } finally {
      await open.close();
    }
  });
});
