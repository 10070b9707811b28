import { useResource } from "../data";
import { formatBytes, relative } from "../format";
import type { Environment } from "../types";
import { Link } from "../components/Link";
import { seg } from "../api";

/** Sealed environments: name, content key, build state, size, last use and the tasks using each. */
export function EnvironmentsPage() {
  const res = useResource<{ environments: Environment[] }>("/environments", (c) => c.kind === "environment");
  const envs = res.data?.environments ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Environments</h1>
        <span className="muted">{res.data ? `${envs.length} total` : ""}</span>
      </div>
      {res.error && <div className="error-box">{res.error.message}</div>}
      <table className="table" data-testid="environments">
        <thead>
          <tr><th>Name</th><th>Node</th><th>Key</th><th>State</th><th>Size</th><th>Last used</th><th>Used by</th></tr>
        </thead>
        <tbody>
          {envs.map((e) => (
            <tr key={e.name} data-env={e.name}>
              <td><strong>{e.name}</strong></td>
              <td>{e.node ?? <span className="muted">host</span>}</td>
              <td><code title={e.key ?? ""}>{e.key ? e.key.slice(0, 12) : "—"}</code></td>
              <td>
                <span className={`badge env-${e.state.replace(/\W+/g, "-")}`} data-env-state={e.state}>{e.state}</span>
                {e.error && <div className="inline-error" title={e.error}>{e.error.slice(0, 120)}</div>}
              </td>
              <td className="num">{formatBytes(e.sizeBytes)}</td>
              <td>{relative(e.lastUsedAt)}</td>
              <td>
                {e.tasks.length === 0 && <span className="muted">—</span>}
                {e.tasks.slice(0, 6).map((t) => (
                  <Link key={`${t.dagId}.${t.taskId}`} className="tag small" to={`/dags/${seg(t.dagId)}`}>{t.dagId}.{t.taskId}</Link>
                ))}
                {e.tasks.length > 6 && <span className="muted small"> +{e.tasks.length - 6} more</span>}
              </td>
            </tr>
          ))}
          {res.data && envs.length === 0 && (
            <tr><td colSpan={7} className="empty">No environments yet. Create one with <code>airlock env init &lt;name&gt;</code>.</td></tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
