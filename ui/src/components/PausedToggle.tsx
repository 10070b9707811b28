import { useState } from "react";
import { api, seg } from "../api";
import { useCanAct } from "../session";

/** The on/off switch of a DAG (on = unpaused). */
export function PausedToggle({ dagId, paused, onChanged }: { dagId: string; paused: boolean; onChanged?: () => void }) {
  const canAct = useCanAct();
  const [busy, setBusy] = useState(false);
  const [optimistic, setOptimistic] = useState<boolean | null>(null);
  const shown = optimistic ?? paused;
  return (
    <button
      role="switch"
      aria-checked={!shown}
      aria-label={`${shown ? "Unpause" : "Pause"} ${dagId}`}
      className={`switch ${shown ? "" : "on"}`}
      data-paused={String(shown)}
      disabled={!canAct || busy}
      title={canAct ? (shown ? "Paused: click to unpause" : "Active: click to pause") : "Needs an admin token"}
      onClick={async () => {
        setBusy(true);
        setOptimistic(!shown);
        try {
          await api(`/dags/${seg(dagId)}`, { method: "PATCH", body: { isPaused: !shown } });
          onChanged?.();
        } finally {
          setOptimistic(null);
          setBusy(false);
        }
      }}
    >
      <span />
    </button>
  );
}
