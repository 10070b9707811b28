import { useState, type FormEvent } from "react";
import { api, failureText, seg } from "../api";
import { ActionButton } from "../components/Action";
import { useResource } from "../data";
import { useCanAct } from "../session";
import type { Connection } from "../types";

const EMPTY = { connId: "", connType: "", host: "", port: "", login: "", password: "", schema: "", extra: "", description: "" };
type Draft = typeof EMPTY;

/** The fields of a draft as the API takes them; a field left empty is left out. */
function toBody(d: Draft): Record<string, unknown> {
  const body: Record<string, unknown> = { connId: d.connId.trim() };
  for (const k of ["connType", "host", "login", "schema", "description"] as const) if (d[k].trim()) body[k] = d[k].trim();
  if (d.password) body.password = d.password;
  if (d.port.trim()) body.port = Number(d.port);
  if (d.extra.trim()) body.extra = JSON.parse(d.extra) as unknown;
  return body;
}

/**
 * Connections: listed without their secrets (the API never sends a password, and secret extra values come as ***),
 * added from a form whose password field is write-only, and deleted.
 */
export function ConnectionsPage() {
  const res = useResource<{ connections: Connection[] }>("/connections");
  const canAct = useCanAct();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const conns = res.data?.connections ?? [];
  const field = (k: keyof Draft) => ({ name: k, value: draft[k], onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value }) });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    let body;
    try {
      body = toBody(draft);
    } catch {
      setError('Extra must be a JSON object, such as {"region": "eu"}');
      return;
    }
    try {
      await api("/connections", { method: "POST", body });
      // The password is not kept in the page once it was sent.
      setDraft(EMPTY);
      res.reload();
    } catch (err) {
      setError(failureText(err));
    }
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Connections</h1>
        <span className="muted">{res.data ? `${conns.length} total` : ""}</span>
      </div>
      <p className="muted small">Tasks see a connection only when granted it. Passwords and secret extra values are never shown here.</p>
      {res.error && <div className="error-box">{res.error.message}</div>}
      <div className="table-wrap">
        <table className="table" data-testid="connections">
          <thead>
            <tr><th>Id</th><th>Type</th><th>Host</th><th>Port</th><th>Login</th><th>Schema</th><th>Password</th><th>Extra</th><th /></tr>
          </thead>
          <tbody>
            {conns.map((c) => (
              <tr key={c.connId} data-conn={c.connId}>
                <td><strong>{c.connId}</strong>{c.description && <div className="muted small">{c.description}</div>}</td>
                <td>{c.connType ?? "—"}</td>
                <td className="mono small">{c.host ?? "—"}</td>
                <td className="num">{c.port ?? "—"}</td>
                <td>{c.login ?? "—"}</td>
                <td>{c.schema ?? "—"}</td>
                <td data-has-password={String(c.hasPassword)}>{c.hasPassword ? <span className="muted" title="Set; never shown">••••••</span> : <span className="muted">none</span>}</td>
                <td className="mono small">{c.extra ? JSON.stringify(c.extra) : "—"}</td>
                <td>
                  {canAct && (
                    <ActionButton label="Delete" action="delete-connection" kind="danger" confirm={`Delete connection ${c.connId}?`}
                      run={async () => {
                        await api(`/connections/${seg(c.connId)}`, { method: "DELETE" });
                        res.reload();
                      }} />
                  )}
                </td>
              </tr>
            ))}
            {res.data && conns.length === 0 && (
              <tr><td colSpan={9} className="empty">No connections. Add one below or with <code>airlock connections add</code>.</td></tr>
            )}
          </tbody>
        </table>
      </div>
      {canAct && (
        <form className="panel edit-form" onSubmit={submit} data-testid="connection-form" autoComplete="off">
          <h2>Add or replace a connection</h2>
          <div className="form-grid three">
            <label className="field"><span>Id<span className="req">*</span></span><input {...field("connId")} required placeholder="warehouse" /></label>
            <label className="field"><span>Type</span><input {...field("connType")} placeholder="postgres" /></label>
            <label className="field"><span>Host</span><input {...field("host")} /></label>
            <label className="field"><span>Port</span><input {...field("port")} type="number" min={1} max={65535} /></label>
            <label className="field"><span>Login</span><input {...field("login")} /></label>
            <label className="field"><span>Password <em className="muted">(write-only)</em></span><input {...field("password")} type="password" autoComplete="new-password" /></label>
            <label className="field"><span>Schema</span><input {...field("schema")} /></label>
            <label className="field"><span>Description</span><input {...field("description")} /></label>
          </div>
          <label className="field"><span>Extra <em className="muted">(JSON object)</em></span><textarea {...field("extra")} rows={2} placeholder='{"region": "eu"}' /></label>
          <div className="modal-foot">
            {error && <span className="inline-error" role="alert" data-testid="connection-error">{error}</span>}
            <button className="btn primary small" type="submit" data-action="save-connection">Save connection</button>
          </div>
        </form>
      )}
    </div>
  );
}
