import { useEffect, useMemo, useRef, useState } from "react";
import { eventsUrl } from "../api";
import type { LogEvent } from "../types";

const MAX_LINES = 20_000;

/** A try's log, streamed live over SSE while the try runs; with follow (auto-scroll) and search. */
export function LogViewer({ dagId, runId, taskId, tryNumber }: { dagId: string; runId: string; taskId: string; tryNumber: number }) {
  const [text, setText] = useState("");
  const [complete, setComplete] = useState(false);
  const [follow, setFollow] = useState(true);
  const [search, setSearch] = useState("");
  const received = useRef(0);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    received.current = 0;
    setText("");
    setComplete(false);
    const source = new EventSource(eventsUrl({ dagId, log: `${runId}|${taskId}|${tryNumber}` }));
    source.addEventListener("log", (e) => {
      const chunk = JSON.parse((e as MessageEvent<string>).data) as LogEvent;
      // After a reconnect the server starts again from 0: keep only bytes not seen yet.
      if (chunk.nextOffset > received.current) {
        const skip = Math.max(0, received.current - chunk.offset);
        const fresh = skip > 0 ? new TextDecoder().decode(new TextEncoder().encode(chunk.text).slice(skip)) : chunk.text;
        received.current = chunk.nextOffset;
        if (fresh) setText((t) => t + fresh);
      }
      if (chunk.complete) {
        setComplete(true);
        source.close();
      }
    });
    return () => source.close();
  }, [dagId, runId, taskId, tryNumber]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [text, follow]);

  const lines = useMemo(() => {
    const all = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
    return text === "" ? [] : all;
  }, [text]);
  const needle = search.trim().toLowerCase();
  const shown = useMemo(() => {
    const numbered = lines.map((l, i) => ({ n: i + 1, l }));
    const matched = needle ? numbered.filter((x) => x.l.toLowerCase().includes(needle)) : numbered;
    return matched.length > MAX_LINES ? matched.slice(-MAX_LINES) : matched;
  }, [lines, needle]);

  return (
    <div className="log-viewer" data-testid="log-viewer" data-complete={String(complete)}>
      <div className="log-toolbar">
        <span className={`log-status ${complete ? "done" : "live"}`} data-log-status={complete ? "complete" : "following"}>
          {complete ? "Complete" : "● Live"}
        </span>
        <input className="search" type="search" placeholder="Search log…" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search log" />
        {needle && <span className="muted small" data-testid="log-matches">{shown.length} matching lines</span>}
        <div className="spacer" />
        <label className="small">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
      </div>
      <div
        className="log-body"
        ref={box}
        onWheel={(e) => {
          // Scrolling up pauses follow, as in a terminal.
          if (e.deltaY < 0 && follow) setFollow(false);
        }}
      >
        {shown.length === 0 ? (
          <div className="muted log-empty">{complete ? "The log is empty." : needle ? "No line matches." : "Waiting for output…"}</div>
        ) : (
          shown.map(({ n, l }) => (
            <div key={n} className="log-line">
              <span className="ln">{n}</span>
              <span className="lt">{needle ? highlight(l, needle) : l}</span>
            </div>
          ))
        )}
      </div>
    </div>
  );
}

function highlight(line: string, needle: string) {
  const out: Array<string | React.ReactElement> = [];
  const lower = line.toLowerCase();
  let i = 0;
  for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, i)) {
    out.push(line.slice(i, at), <mark key={at}>{line.slice(at, at + needle.length)}</mark>);
    i = at + needle.length;
  }
  out.push(line.slice(i));
  return out;
}
