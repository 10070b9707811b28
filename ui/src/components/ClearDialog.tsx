import { useEffect, useState } from "react";
import { api, failureText } from "../api";

type Options = { downstream: boolean; upstream: boolean; onlyFailed: boolean };

/**
 * Airflow's clear dialog: what to include (downstream by default, since clearing only a failed task leaves its
 * downstream upstream_failed and the run failed), the task instances that will run again (a dry run of the same
 * request), then the clear itself.
 */
export function ClearDialog({ path, query, taskLabel, onClose }: {
  /** The task instance's API path (…/runs/{runId}/tasks/{taskId}). */
  path: string;
  /** "?mapIndex=N" for one instance of a mapped task, else "". */
  query: string;
  taskLabel: string;
  onClose: () => void;
}) {
  const [options, setOptions] = useState<Options>({ downstream: true, upstream: false, onlyFailed: false });
  const [preview, setPreview] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    setPreview(null);
    setError(null);
    api<{ cleared: string[] }>(`${path}/clear${query}`, { method: "POST", body: { ...options, dryRun: true } })
      .then((r) => live && setPreview(r.cleared))
      .catch((e) => live && setError(failureText(e)));
    return () => {
      live = false;
    };
  }, [path, query, options]);

  const clear = async () => {
    setBusy(true);
    setError(null);
    try {
      await api(`${path}/clear${query}`, { method: "POST", body: options });
      onClose();
    } catch (e) {
      setError(failureText(e));
    } finally {
      setBusy(false);
    }
  };

  const box = (key: keyof Options, label: string) => (
    <label className="check">
      <input type="checkbox" name={key} checked={options[key]} onChange={(e) => setOptions({ ...options, [key]: e.target.checked })} /> {label}
    </label>
  );
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-label={`Clear ${taskLabel}`} data-testid="clear-dialog">
        <div className="panel-head">
          <h2 className="ellipsis">Clear {taskLabel}</h2>
          <div className="spacer" />
          <button type="button" className="btn ghost small" onClick={onClose} aria-label="Close">✕</button>
        </div>
        <div className="clear-options">
          {box("downstream", "Downstream")}
          {box("upstream", "Upstream")}
          {box("onlyFailed", "Only failed")}
        </div>
        {preview === null && !error && <p className="muted small">Listing the task instances…</p>}
        {preview && (
          <div data-testid="clear-preview" data-count={preview.length}>
            <p className="small">{preview.length === 0 ? "Nothing to clear with these options." : `${preview.length} task instance${preview.length === 1 ? "" : "s"} will run again:`}</p>
            <ul className="mono small clear-list">{preview.map((t) => <li key={t}>{t}</li>)}</ul>
          </div>
        )}
        {error && <div className="error-box" role="alert" data-testid="clear-error">{error}</div>}
        <div className="modal-foot">
          <button type="button" className="btn small" onClick={onClose}>Cancel</button>
          <button type="button" className="btn small primary" data-action="clear-confirm" disabled={busy || !preview || preview.length === 0} onClick={clear}>
            Clear{preview && preview.length > 0 ? ` ${preview.length}` : ""}
          </button>
        </div>
      </div>
    </div>
  );
}
