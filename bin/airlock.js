#!/usr/bin/env node
// The `airlock` command. Runs the built CLI; tells the user what to do when it has not been built yet.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const entry = path.join(root, "dist", "cli", "main.js");
if (!existsSync(entry)) {
  process.stderr.write(`airlock is not built yet: run \`npm run build\` in ${root} (after \`npm ci\`)\n`);
  process.exit(2);
}
await import(pathToFileURL(entry).href);
