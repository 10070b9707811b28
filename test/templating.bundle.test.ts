import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as esbuild from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const templatingEntry = fileURLToPath(new URL("../src/templating/index.ts", import.meta.url));

// What the task runner does with templates, as a program of its own.
const entrySource = `
import { buildTemplateContext, renderFields, extractReferences, TemplateError } from ${JSON.stringify(templatingEntry)};
const ctx = buildTemplateContext({
  dagId: "d", taskId: "t", runId: "r", tryNumber: 1, params: { name: "world" }, conf: {},
  logicalDate: "2026-01-01T00:00:00Z", dataInterval: { start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z" },
  timezone: "Europe/Oslo", xcomPull: (t) => ({ from: t }), variable: (n) => "v-" + n, connection: (id) => ({ id, host: "h" }),
});
const out = { rendered: renderFields({ command: "echo {{ params.name }} {{ ds }} {{ var.value.x }} {{ ti.xcom_pull('up').from }} {{ macros.uuid4() | length }}" }, ["command"], ctx, { dagId: "d", taskId: "t" }) };
out.refs = extractReferences(["{{ conn.db.host }}"]);
for (const t of ['{% include "/etc/passwd" %}', '{{ range.constructor("return process")() }}', "{{ nope }}"]) {
  try { renderFields({ c: t }, ["c"], ctx, { dagId: "d", taskId: "t" }); out[t] = "rendered"; }
  catch (e) { out[t] = e instanceof TemplateError ? e.reason : "other: " + e.message; }
}
console.log(JSON.stringify(out));
`;

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "airlock-templating-bundle-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the templating module bundled with esbuild", () => {
  it("bundles as one ESM file for node that imports no I/O module and renders in a process that may read nothing else", async () => {
    const entry = path.join(dir, "entry.ts");
    const outfile = path.join(dir, "bundle.mjs");
    await writeFile(entry, entrySource);
    const result = await esbuild.build({
      entryPoints: [entry], bundle: true, platform: "node", format: "esm", outfile, metafile: true, logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    const external = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    // Only randomUUID's module; no fs, path, events, child_process or network.
    expect([...new Set(external)]).toEqual(["node:crypto"]);
    const inputs = Object.keys(result.metafile.inputs).join("\n");
    expect(inputs).not.toMatch(/croner|node-loaders|precompile\.js/);

    // Node's permission model: the process may read its own bundle and nothing else.
    const permission = process.allowedNodeEnvironmentFlags.has("--permission") ? "--permission" : "--experimental-permission";
    const { stdout } = await run(process.execPath, ["--no-warnings", permission, `--allow-fs-read=${outfile}`, outfile], { timeout: 60_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.rendered).toEqual({ command: "echo world 2026-01-01 v-x up 36" });
    expect(out.refs).toEqual({ variables: [], connections: ["db"], xcomTasks: [] });
    expect(out['{% include "/etc/passwd" %}']).toBe("call");
    expect(out['{{ range.constructor("return process")() }}']).toBe("forbidden");
    expect(out["{{ nope }}"]).toBe("undefined");
  });
});
