/**
 * Streams a Docker build context as a tar without copying node_modules to a temp dir: a generated Dockerfile,
 * the environment's node binary and its dependency folder (symlinks kept as symlinks).
 */
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";

/** One thing to put into the context: inline text, or a host file/folder copied recursively. */
export type ContextEntry = { name: string; text: string; mode?: number } | { name: string; from: string; exclude?: string[] };

// Fixed times and owners make the context (and so the engine's layer cache) independent of when it was built.
const MTIME = new Date(0);

async function addFile(pack: tar.Pack, name: string, from: string, exclude: Set<string> = new Set()): Promise<void> {
  const st = await lstat(from);
  const base = { name, mode: st.mode & 0o7777, mtime: MTIME, uid: 0, gid: 0 };
  if (st.isSymbolicLink()) {
    pack.entry({ ...base, type: "symlink", linkname: await readlink(from) });
  } else if (st.isDirectory()) {
    pack.entry({ ...base, type: "directory" });
    for (const child of (await readdir(from)).sort()) {
      if (!exclude.has(path.join(from, child))) await addFile(pack, `${name}/${child}`, path.join(from, child), exclude);
    }
  } else if (st.isFile()) {
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ ...base, type: "file", size: st.size }, (err) => (err ? reject(err) : resolve()));
      const input = createReadStream(from);
      input.on("error", reject);
      input.on("data", (chunk) => {
        if (!entry.write(chunk)) {
          input.pause();
          entry.once("drain", () => input.resume());
        }
      });
      input.on("end", () => entry.end(undefined));
    });
  }
  // Sockets, fifos and devices have no place in an image; they are left out.
}

/** Returns a readable tar stream of the entries; errors while packing destroy the stream. */
export function buildContext(entries: ContextEntry[]): NodeJS.ReadableStream {
  const pack = tar.pack();
  void (async () => {
    for (const e of entries) {
      if ("text" in e) pack.entry({ name: e.name, mode: e.mode ?? 0o644, mtime: MTIME, uid: 0, gid: 0 }, e.text);
      else await addFile(pack, e.name, e.from, new Set((e.exclude ?? []).map((x) => path.join(e.from, x))));
    }
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err as Error));
  // A plain Node stream: the engine client pipes it, and streamx streams are not quite Node streams.
  return Readable.from(pack);
}
