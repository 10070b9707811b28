import { useEffect, useMemo, useRef, useState } from "react";
import { eventsUrl } from "../api";
import type { LogEvent } from "../types";

const MAX_LINES = 20_000;

type Mark = { offset: number; at: string };

/** UTF-8 length of a string (log offsets are bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** "12:03:07" in the browser's zone. */
function clock(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Adds marks to a sorted list (a reconnect repeats some). */
function mergeMarks(old: Mark[], fresh: Mark[]): Mark[] {
  const last = old[old.length - 1];
  const add = fresh.filter((m) => !last || m.offset > last.offset);
  return add.length > 0 ? [...old, ...add] : old;
}

/**
 * A try's log, streamed live over SSE while the try runs; each line with the time it was written, follow
 * (auto-scroll), search, and a full-screen mode (Esc leaves it).
 */
export function LogViewer({ dagId, runId, taskId, tryNumber }: { dagId: string; runId: string; taskId: string; tryNumber: number }) {
  const [text, setText] = useState("");
  const [marks, setMarks] = useState<Mark[]>([]);
  const [complete, setComplete] = useState(false);
  const [follow, setFollow] = useState(true);
  const [search, setSearch] = useState("");
  const [showTimes, setShowTimes] = useState(true);
  const [full, setFull] = useState(false);
  const received = useRef(0);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    received.current = 0;
    setText("");
    setMarks([]);
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
        if (chunk.times?.length) setMarks((m) => mergeMarks(m, chunk.times));
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
  }, [text, follow, full]);

  useEffect(() => {
    if (!full) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") setFull(false);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [full]);

  // Each line with its number and the time of the mark in force at its first byte.
  const lines = useMemo(() => {
    if (text === "") return [];
    const all = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
    let at = 0;
    let m = -1;
    return all.map((l, i) => {
      while (m + 1 < marks.length && (marks[m + 1] as Mark).offset <= at) m++;
      const time = m >= 0 ? (marks[m] as Mark).at : null;
      at += utf8Length(l) + 1;
      return { n: i + 1, l, time };
    });
  }, [text, marks]);
  const needle = search.trim().toLowerCase();
  const shown = useMemo(() => {
    const matched = needle ? lines.filter((x) => x.l.toLowerCase().includes(needle)) : lines;
    return matched.length > MAX_LINES ? matched.slice(-MAX_LINES) : matched;
  }, [lines, needle]);

  return (
    <div className={`log-viewer${full ? " full" : ""}`} data-testid="log-viewer" data-complete={String(complete)} data-full={String(full)}>
      <div className="log-toolbar">
        <span className={`log-status ${complete ? "done" : "live"}`} data-log-status={complete ? "complete" : "following"}>
          {complete ? "Complete" : "● Live"}
        </span>
        <input className="search" type="search" placeholder="Search log…" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search log" />
        {needle && <span className="muted small" data-testid="log-matches">{shown.length} matching lines</span>}
        <div className="spacer" />
        <label className="small">
          <input type="checkbox" checked={showTimes} onChange={(e) => setShowTimes(e.target.checked)} data-testid="log-times-toggle" /> Times
        </label>
        <label className="small">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <button className="btn ghost small log-full" data-action="log-full-screen" onClick={() => setFull(!full)} title={full ? "Leave full screen (Esc)" : "Full screen"}>
          {full ? "✕ Close" : "⤢ Full screen"}
        </button>
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
          shown.map(({ n, l, time }) => (
            <div key={n} className="log-line">
              <span className="ln">{n}</span>
              {showTimes && <span className="ts" data-ts={time ?? ""} title={time ?? "time not recorded"}>{time ? clock(time) : ""}</span>}
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
