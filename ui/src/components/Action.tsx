import { useState } from "react";
import { ApiFailure } from "../api";
import { useCanAct } from "../session";

/** A button that runs an API action, disables itself meanwhile, and shows the server's error and hint. */
export function ActionButton({ label, action, run, kind = "", confirm }: {
  label: string;
  action: string;
  run: () => Promise<unknown>;
  kind?: "" | "primary" | "danger";
  confirm?: string;
}) {
  const canAct = useCanAct();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <span className="action">
      <button
        className={`btn small ${kind}`}
        data-action={action}
        disabled={!canAct || busy}
        title={canAct ? undefined : "Needs an admin token"}
        onClick={async () => {
          if (confirm && !window.confirm(confirm)) return;
          setBusy(true);
          setError(null);
          try {
            await run();
          } catch (e) {
            setError(e instanceof ApiFailure ? `${e.message}${e.hint ? ` — ${e.hint}` : ""}` : String(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {label}
      </button>
      {error && <span className="inline-error" role="alert">{error}</span>}
    </span>
  );
}
