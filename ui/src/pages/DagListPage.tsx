import { useState } from "react";
import { seg } from "../api";
import { ImportErrorsBanner } from "../components/ImportErrorsBanner";
import { Link } from "../components/Link";
import { PausedToggle } from "../components/PausedToggle";
import { StateDot } from "../components/State";
import { useResource } from "../data";
import { formatDate, relative } from "../format";
import { navigate, setQuery } from "../router";
import type { DagList } from "../types";

const PAGE = 50;

/** The DAG list: filters, recent runs, next run, paused toggles, import-error banner. */
export function DagListPage({ query }: { query: URLSearchParams }) {
  const tags = query.get("tags")?.split(",").filter(Boolean) ?? [];
  const search = query.get("search") ?? "";
  const status = query.get("status") ?? "all";
  const offset = Number(query.get("offset") ?? 0) || 0;
  const qs = new URLSearchParams({ limit: String(PAGE), offset: String(offset), recentRuns: "12" });
  if (tags.length) qs.set("tags", tags.join(","));
  if (search) qs.set("search", search);
  if (status !== "all") qs.set("paused", String(status === "paused"));
  const list = useResource<DagList>(`/dags?${qs}`, (c) => c.kind === "dag" || c.kind === "run");
  const allTags = useResource<{ tags: string[] }>("/dagTags", (c) => c.kind === "dag");
  const [draft, setDraft] = useState(search);

  const toggleTag = (t: string) => {
    const next = tags.includes(t) ? tags.filter((x) => x !== t) : [...tags, t];
    setQuery({ tags: next.length ? next.join(",") : null, offset: null });
  };

  return (
    <div className="page">
      <ImportErrorsBanner />
      <div className="page-head">
        <h1>DAGs</h1>
        <span className="muted">{list.data ? `${list.data.total} total` : ""}</span>
        <div className="spacer" />
        <div className="segmented" role="group" aria-label="Status">
          {["all", "active", "paused"].map((s) => (
            <button key={s} className={status === s ? "on" : ""} onClick={() => setQuery({ status: s === "all" ? null : s, offset: null })}>
              {s}
            </button>
          ))}
        </div>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ search: draft || null, offset: null });
          }}
        >
          <input className="search" placeholder="Search DAGs…" value={draft} onChange={(e) => setDraft(e.target.value)} aria-label="Search DAGs" />
        </form>
      </div>
      {(allTags.data?.tags.length ?? 0) > 0 && (
        <div className="tag-filter" aria-label="Filter by tag">
          {allTags.data?.tags.map((t) => (
            <button key={t} className={`tag ${tags.includes(t) ? "on" : ""}`} data-tag={t} onClick={() => toggleTag(t)}>
              {t}
            </button>
          ))}
          {tags.length > 0 && (
            <button className="link-btn" onClick={() => setQuery({ tags: null, offset: null })}>
              clear
            </button>
          )}
        </div>
      )}
      {list.error && <div className="error-box">{list.error.message}</div>}
      <table className="table dag-table">
        <thead>
          <tr>
            <th style={{ width: 44 }} title="Unpaused DAGs get scheduled runs">On</th>
            <th>DAG</th>
            <th>Schedule</th>
            <th>Recent runs</th>
            <th>Last run</th>
            <th>Next run</th>
            <th style={{ width: 60 }}>Tasks</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.dags.map((d) => {
            const last = d.recentRuns[0];
            return (
              <tr key={d.dagId} data-dag-id={d.dagId} className={d.isPaused ? "paused" : ""}>
                <td>
                  <PausedToggle dagId={d.dagId} paused={d.isPaused} onChanged={list.reload} />
                </td>
                <td>
                  <Link to={`/dags/${seg(d.dagId)}`} className="dag-link">{d.dagId}</Link>
                  {!d.isActive && <span className="pill warn">removed</span>}
                  <div className="sub">
                    {d.tags.map((t) => (
                      <span key={t} className="tag small" onClick={() => toggleTag(t)}>{t}</span>
                    ))}
                    {d.description && <span className="muted ellipsis">{d.description}</span>}
                  </div>
                </td>
                <td><code className="sched">{d.schedule ?? "manual"}</code></td>
                <td>
                  <div className="dots">
                    {[...d.recentRuns].reverse().map((r) => (
                      <StateDot key={r.runId} state={r.state} title={`${r.runId}\n${r.state} · ${formatDate(r.logicalDate)}`} onClick={() => navigate(`/dags/${seg(d.dagId)}?run=${seg(r.runId)}`)} />
                    ))}
                    {d.recentRuns.length === 0 && <span className="muted">no runs</span>}
                  </div>
                </td>
                <td title={last ? formatDate(last.logicalDate) : ""}>{last ? relative(last.startDate ?? last.logicalDate) : "—"}</td>
                <td title={d.nextLogicalDate ? `logical date ${formatDate(d.nextLogicalDate)}; starts when its interval ends` : undefined} data-next-run={d.nextRunAt ?? ""}>{d.isPaused || !d.nextRunAt ? "—" : formatDate(d.nextRunAt)}</td>
                <td className="num">{d.taskCount}</td>
              </tr>
            );
          })}
          {list.data && list.data.dags.length === 0 && (
            <tr>
              <td colSpan={7} className="empty">No DAGs match. DAG files go in the project's dags/ folder.</td>
            </tr>
          )}
        </tbody>
      </table>
      {list.data && list.data.total > PAGE && (
        <div className="pager">
          <button className="btn small" disabled={offset === 0} onClick={() => setQuery({ offset: String(Math.max(0, offset - PAGE)) })}>Previous</button>
          <span className="muted">{offset + 1}–{Math.min(offset + PAGE, list.data.total)} of {list.data.total}</span>
          <button className="btn small" disabled={offset + PAGE >= list.data.total} onClick={() => setQuery({ offset: String(offset + PAGE) })}>Next</button>
        </div>
      )}
    </div>
  );
}
