import { plural } from "../format";
import { seg } from "../api";
import { useResource } from "../data";
import type { Calendar } from "../types";

/** Worst first: a day shows the most urgent state of its runs. */
const RANK = ["failed", "running", "queued", "success"];
const DAY_MS = 86_400_000;

/** A year of runs as a heat map: one square per day (weeks as columns), coloured by the day's worst run state. */
export function CalendarView({ dagId }: { dagId: string }) {
  const res = useResource<Calendar>(`/dags/${seg(dagId)}/calendar`, (c) => c.dagId === dagId && c.kind === "run");
  if (res.error) return <div className="error-box">{res.error.message}</div>;
  const cal = res.data;
  if (!cal) return <div className="muted empty">Loading…</div>;
  const byDate = new Map(cal.days.map((d) => [d.date, d]));
  // Dates are calendar days: step through them in UTC so no time zone shifts a day.
  const from = Date.parse(`${cal.from}T00:00:00Z`);
  const to = Date.parse(`${cal.to}T00:00:00Z`);
  const lead = new Date(from).getUTCDay();
  const cells: Array<{ date: string | null }> = Array.from({ length: lead }, () => ({ date: null }));
  for (let t = from; t <= to; t += DAY_MS) cells.push({ date: new Date(t).toISOString().slice(0, 10) });
  const months: Array<{ col: number; name: string }> = [];
  cells.forEach((c, i) => {
    if (c.date?.endsWith("-01")) months.push({ col: Math.floor(i / 7), name: new Date(`${c.date}T00:00:00Z`).toLocaleString("en", { month: "short", timeZone: "UTC" }) });
  });
  const total = cal.days.reduce((n, d) => n + d.total, 0);
  return (
    <div className="calendar" data-testid="calendar">
      <div className="muted small">{plural(total, "run")} from {cal.from} to {cal.to} (logical dates, {cal.timezone})</div>
      <div className="cal-scroll">
        <div className="cal-months" style={{ gridTemplateColumns: `repeat(${Math.ceil(cells.length / 7)}, var(--cal))` }}>
          {months.map((m) => <span key={`${m.col}${m.name}`} style={{ gridColumn: m.col + 1 }}>{m.name}</span>)}
        </div>
        <div className="cal-grid">
          {cells.map((c, i) => {
            if (!c.date) return <i key={`pad${i}`} className="cal-day pad" />;
            const day = byDate.get(c.date);
            const state = day ? RANK.find((s) => (day.states as Record<string, number | undefined>)[s]) ?? "none" : "none";
            const counts = day ? Object.entries(day.states).map(([s, n]) => `${n} ${s}`).join(", ") : "no runs";
            return <i key={c.date} className={`cal-day st-${state}${day ? "" : " empty"}`} data-date={c.date} data-state={day ? state : "none"} data-runs={day?.total ?? 0} title={`${c.date}: ${counts}`} />;
          })}
        </div>
      </div>
      <div className="cal-legend small muted">
        {["success", "failed", "running", "queued"].map((s) => <span key={s}><i className={`cal-day st-${s}`} /> {s}</span>)}
        <span><i className="cal-day st-none empty" /> no runs</span>
      </div>
    </div>
  );
}
