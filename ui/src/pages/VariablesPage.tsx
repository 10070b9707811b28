import { useState, type FormEvent } from "react";
import { api, failureText, seg } from "../api";
import { ActionButton } from "../components/Action";
import { useResource } from "../data";
import { useCanAct } from "../session";
import type { Variable } from "../types";

/**
 * Variables: secret ones (flagged, or with a name such as password, token or api_key, as in Airflow) are listed as
 * *** because the API never sends their value; set and delete for admins.
 */
export function VariablesPage() {
  const res = useResource<{ variables: Variable[] }>("/variables");
  const canAct = useCanAct();
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [secret, setSecret] = useState(false);
  const [description, setDescription] = useState("");
  const [error, setError] = useState<string | null>(null);
  const vars = res.data?.variables ?? [];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api(`/variables/${seg(key.trim())}`, { method: "PUT", body: { value, ...(secret ? { secret: true } : {}), ...(description.trim() ? { description: description.trim() } : {}) } });
      setKey("");
      setValue("");
      setSecret(false);
      setDescription("");
      res.reload();
    } catch (err) {
      setError(failureText(err));
    }
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Variables</h1>
        <span className="muted">{res.data ? `${vars.length} total` : ""}</span>
      </div>
      {res.error && <div className="error-box">{res.error.message}</div>}
      <div className="table-wrap">
        <table className="table" data-testid="variables">
          <thead>
            <tr><th>Key</th><th>Value</th><th>Description</th><th /></tr>
          </thead>
          <tbody>
            {vars.map((v) => (
              <tr key={v.key} data-var={v.key} data-secret={String(v.isSecret)}>
                <td><strong className="mono">{v.key}</strong></td>
                <td className="mono small var-value">{v.isSecret ? <span className="muted" title="Secret: never shown">***</span> : v.value}</td>
                <td className="small">{v.description ?? ""}</td>
                <td>
                  {canAct && (
                    <ActionButton label="Delete" action="delete-variable" kind="danger" confirm={`Delete variable ${v.key}?`}
                      run={async () => {
                        await api(`/variables/${seg(v.key)}`, { method: "DELETE" });
                        res.reload();
                      }} />
                  )}
                </td>
              </tr>
            ))}
            {res.data && vars.length === 0 && (
              <tr><td colSpan={4} className="empty">No variables. Set one below or with <code>airlock variables set</code>.</td></tr>
            )}
          </tbody>
        </table>
      </div>
      {canAct && (
        <form className="panel edit-form" onSubmit={submit} data-testid="variable-form" autoComplete="off">
          <h2>Set a variable</h2>
          <div className="form-grid">
            <label className="field"><span>Key<span className="req">*</span></span><input name="key" value={key} onChange={(e) => setKey(e.target.value)} required /></label>
            <label className="field"><span>Description</span><input name="description" value={description} onChange={(e) => setDescription(e.target.value)} /></label>
          </div>
          <label className="field"><span>Value</span><textarea name="value" rows={2} value={value} onChange={(e) => setValue(e.target.value)} /></label>
          <div className="modal-foot">
            <label className="small"><input type="checkbox" name="secret" checked={secret} onChange={(e) => setSecret(e.target.checked)} /> Secret (never shown again)</label>
            <div className="spacer" />
            {error && <span className="inline-error" role="alert" data-testid="variable-error">{error}</span>}
            <button className="btn primary small" type="submit" data-action="save-variable">Set variable</button>
          </div>
        </form>
      )}
    </div>
  );
}
