import { seg } from "../api";
import { Link } from "../components/Link";
import { useResource } from "../data";
import { formatBytes, formatDate } from "../format";
import type { DatasetDetail, DatasetList } from "../types";

const isDataset = (c: { kind: string }) => c.kind === "dataset";

/** Every dataset pipeline nodes have written, with its newest version. */
export function DatasetListPage() {
  const res = useResource<DatasetList>("/datasets", isDataset);
  const list = res.data?.datasets ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Datasets</h1>
        <span className="muted">{res.data ? `${list.length} total` : ""}</span>
      </div>
      {res.error && <div className="error-box">{res.error.message}</div>}
      <table className="table" data-testid="datasets">
        <thead>
          <tr><th>Dataset</th><th>Versions</th><th>Last written</th><th>By</th><th>Size</th></tr>
        </thead>
        <tbody>
          {list.map((d) => (
            <tr key={d.name} data-dataset={d.name}>
              <td><Link to={`/datasets/${seg(d.name)}`}><strong>{d.name}</strong></Link></td>
              <td className="num">{d.versions}</td>
              <td>{formatDate(d.latest.createdAt)}</td>
              <td><Link to={`/dags/${seg(d.latest.dagId)}?run=${seg(d.latest.runId)}&task=${seg(d.latest.taskId)}`}>{d.latest.dagId}.{d.latest.taskId}</Link></td>
              <td className="num">{formatBytes(d.latest.size)}</td>
            </tr>
          ))}
          {res.data && list.length === 0 && (
            <tr><td colSpan={5} className="empty">No datasets yet: they appear once a pipeline node has written one.</td></tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** One dataset's versions, newest first, each linking to the run and node that wrote it. */
export function DatasetPage({ name }: { name: string }) {
  const res = useResource<DatasetDetail>(`/datasets/${seg(name)}`, (c) => isDataset(c) && c.state === name);
  const versions = res.data?.versions ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <div className="crumbs">
          <Link to="/datasets">Datasets</Link> <span className="muted">/</span>
        </div>
        <h1 data-dataset-name={name}>{name}</h1>
        <span className="muted">{res.data ? `${versions.length} version${versions.length === 1 ? "" : "s"}` : ""}</span>
      </div>
      {res.error && <div className="error-box">{res.error.message}</div>}
      <table className="table" data-testid="dataset-versions">
        <thead>
          <tr><th>Version</th><th>Written</th><th>Run</th><th>Node</th><th>Try</th><th>Type</th><th>Size</th><th>Location</th></tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.id} data-version={v.id}>
              <td className="num">{v.id}</td>
              <td>{formatDate(v.createdAt)}</td>
              <td><Link className="run-link" to={`/dags/${seg(v.dagId)}?run=${seg(v.runId)}`}><code>{v.runId}</code></Link></td>
              <td><Link to={`/dags/${seg(v.dagId)}?run=${seg(v.runId)}&task=${seg(v.taskId)}`}>{v.dagId}.{v.taskId}</Link></td>
              <td className="num">{v.tryNumber}</td>
              <td>{v.type}</td>
              <td className="num">{formatBytes(v.size)}</td>
              <td className="ellipsis" title={v.uri}><code>{v.uri}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
