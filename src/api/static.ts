/**
 * Serves the built web UI (ui/dist) with a single-page-app fallback: any GET outside /api that is not a file
 * gets index.html, so deep links like /dags/etl work after a reload.
 */
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

/** The folder of the built UI next to the package (the same from src/ and dist/). */
export function defaultUiDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../ui/dist");
}

/** A file to send. */
export interface StaticFile {
  body: Buffer;
  type: string;
  cacheControl: string;
}

/** Finds what to send for a URL path, or undefined when there is no UI build. Never leaves `root`. */
export async function resolveStatic(root: string, urlPath: string): Promise<StaticFile | undefined> {
  const index = path.join(root, "index.html");
  if (!existsSync(index)) return undefined;
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath.split("?")[0] ?? "/");
  } catch {
    rel = "/";
  }
  const file = path.resolve(root, "." + path.posix.normalize("/" + rel));
  if ((file === root || file.startsWith(root + path.sep)) && !rel.includes("\0")) {
    const s = await stat(file).catch(() => undefined);
    if (s?.isFile()) {
      const immutable = file.startsWith(path.join(root, "assets") + path.sep);
      return {
        body: await readFile(file),
        type: TYPES[path.extname(file)] ?? "application/octet-stream",
        cacheControl: immutable ? "public, max-age=31536000, immutable" : "no-cache",
      };
    }
  }
  return { body: await readFile(index), type: TYPES[".html"] as string, cacheControl: "no-cache" };
}
