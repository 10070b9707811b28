/** A small environment build on disk (package.json + node_modules with a symlink), as the environments module makes. */
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** Creates an environment folder whose `greeting` module returns `message`; returns it and a remover. */
export async function fakeEnvironmentBuild(message: string): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), "airlock-env-"));
  const mod = path.join(root, "node_modules", "greeting");
  await mkdir(mod, { recursive: true });
  await writeFile(path.join(root, "package.json"), JSON.stringify({ name: "env", private: true, type: "module", dependencies: { greeting: "1.0.0" } }));
  await writeFile(path.join(mod, "package.json"), JSON.stringify({ name: "greeting", version: "1.0.0", type: "module", main: "index.js", bin: { greet: "index.js" } }));
  await writeFile(path.join(mod, "index.js"), `#!/usr/bin/env node\nexport const message = ${JSON.stringify(message)};\n`, { mode: 0o755 });
  await mkdir(path.join(root, "node_modules", ".bin"));
  await symlink("../greeting/index.js", path.join(root, "node_modules", ".bin", "greet"));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}
