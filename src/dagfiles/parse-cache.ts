/**
 * Remembers, across processes, what parsing a DAG file produced and from which input files, so that a CLI command
 * (each one a new process) does not parse every unchanged file of the DAG folder again in child processes.
 * A cached entry is trusted only while every input file is unchanged, the Airlock installation is the same, and
 * the store still holds exactly what the parse recorded.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AIRLOCK_DIST } from "../core/install.js";

/** What one parse of a file left in the store. */
export interface CachedParse {
  /** Absolute paths of the files the parse read (the DAG file and its local imports). */
  inputs: string[];
  /** `fingerprintFiles(inputs)` when the parse started. */
  fingerprint: string;
  /** DAG id → version hash recorded, or null when the file is an import error. */
  dags: Record<string, string> | null;
}

interface CacheFile {
  installation: string;
  files: Record<string, CachedParse>;
}

/** A fingerprint of files' identity and modification times ("gone" for missing ones). */
export function fingerprintFiles(files: string[]): string {
  const h = createHash("sha256");
  for (const f of [...files].sort()) {
    try {
      const st = statSync(f);
      h.update(`${f}\0${st.mtimeMs}\0${st.size}\0${st.ino}\n`);
    } catch {
      h.update(`${f}\0gone\n`);
    }
  }
  return h.digest("hex").slice(0, 32);
}

/** True when a file was modified at or after `since` (ms since epoch), or is gone. */
export function modifiedSince(files: string[], since: number): boolean {
  return files.some((f) => {
    try {
      return statSync(f).mtimeMs >= since;
    } catch {
      return true;
    }
  });
}

// A new build of Airlock may serialize DAGs differently: its cache entries start over.
function installationKey(): string {
  return fingerprintFiles([path.join(AIRLOCK_DIST, "dagfiles", "parse-child.js"), path.join(AIRLOCK_DIST, "sdk", "index.js")]);
}

/** The cache of one state directory. Losing entries (two processes saving at once) only costs a parse. */
export class ParseCache {
  private data: CacheFile = { installation: "", files: {} };
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, "dags", "parse-cache.json");
  }

  /** Reads the cache; a missing, unreadable or outdated file is an empty cache. */
  load(): void {
    const installation = installationKey();
    try {
      const d = JSON.parse(readFileSync(this.file, "utf8")) as CacheFile;
      this.data = d.installation === installation && typeof d.files === "object" && d.files !== null ? d : { installation, files: {} };
    } catch {
      this.data = { installation, files: {} };
    }
  }

  get(file: string): CachedParse | undefined {
    return this.data.files[file];
  }

  set(file: string, entry: CachedParse): void {
    this.data.files[file] = entry;
  }

  delete(file: string): void {
    delete this.data.files[file];
  }

  /** Keeps only entries of `files`. */
  retain(files: string[]): void {
    const keep = new Set(files);
    for (const f of Object.keys(this.data.files)) if (!keep.has(f)) delete this.data.files[f];
  }

  /** Writes the cache atomically. */
  save(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
