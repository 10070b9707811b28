import { useState } from "react";
import { useResource } from "../data";
import { relative } from "../format";
import type { ImportError } from "../types";

/** A banner listing DAG files that failed to parse (live: appears and disappears as files change). */
export function ImportErrorsBanner() {
  const res = useResource<{ importErrors: ImportError[] }>("/importErrors", (c) => c.kind === "import_error" || c.kind === "dag");
  const [open, setOpen] = useState(false);
  const errors = res.data?.importErrors ?? [];
  if (errors.length === 0) return null;
  return (
    <div className="banner error" role="alert" data-testid="import-errors">
      <button className="banner-head" onClick={() => setOpen(!open)} aria-expanded={open}>
        <strong>{errors.length === 1 ? "1 DAG file failed to import" : `${errors.length} DAG files failed to import`}</strong>
        <span className="muted">{open ? "hide" : "show details"}</span>
      </button>
      {open && (
        <ul className="import-errors">
          {errors.map((e) => (
            <li key={e.fileloc}>
              <div>
                <code>{e.fileloc}</code> <span className="muted">{relative(e.updatedAt)}</span>
              </div>
              <pre>{e.message}</pre>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
