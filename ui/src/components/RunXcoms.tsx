import { seg } from "../api";
import { useResource } from "../data";
import { formatBytes } from "../format";
import type { RunXcoms as RunXcomsData } from "../types";

/** The results (XComs) of a run's tasks, one collapsible entry per task. */
export function RunXcoms({ dagId, runId }: { dagId: string; runId: string }) {
  const res = useResource<RunXcomsData>(`/dags/${seg(dagId)}/runs/${seg(runId)}/xcoms`, (c) => c.runId === runId && c.kind === "task");
  const list = res.data?.xcoms ?? [];
  return (
    <div className="run-xcoms" data-testid="run-xcoms">
      <h3>XComs</h3>
      {res.error && <div className="error-box">{res.error.message}</div>}
      {res.data && list.length === 0 && <div className="muted small">No task of this run has a result yet.</div>}
      {list.map((x) => (
        <details key={x.taskId} className="xcom" data-xcom-task={x.taskId}>
          <summary><code>{x.taskId}</code> · {formatBytes(x.sizeBytes)}</summary>
          {x.truncated
            ? <p className="muted small">Too large to show here; open the task or use the API.</p>
            : <pre className="json">{JSON.stringify(x.value, null, 2)}</pre>}
        </details>
      ))}
    </div>
  );
}
