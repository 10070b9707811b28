import { seg } from "../api";
import { useResource } from "../data";
import { formatBytes, formatDate } from "../format";
import type { DagCode } from "../types";

/** The DAG's source file, read-only, with line numbers. */
export function CodeView({ dagId }: { dagId: string }) {
  const res = useResource<DagCode>(`/dags/${seg(dagId)}/code`, (c) => c.dagId === dagId && c.kind === "dag");
  if (res.error) return <div className="error-box">{res.error.message}</div>;
  const code = res.data;
  if (!code) return <div className="muted empty">Loading…</div>;
  const lines = code.source.replace(/\n$/, "").split("\n");
  return (
    <div className="code-view" data-testid="dag-code">
      <div className="muted small code-head">
        <code className="ellipsis" title={code.fileloc}>{code.fileloc}</code> · {formatBytes(code.sizeBytes)} · changed {formatDate(code.modifiedAt)} · read-only
      </div>
      {code.truncated && <div className="warn-box">Only the first part of this large file is shown.</div>}
      <pre className="code-body">
        {lines.map((l, i) => (
          <div key={i} className="code-line"><span className="ln">{i + 1}</span><span className="lt">{l}</span></div>
        ))}
      </pre>
    </div>
  );
}
