// Every element that shows a run or task state carries data-state="<state>" (tests and styles key on it).

/** A coloured pill with the state's name. */
export function StateBadge({ state, className = "" }: { state: string; className?: string }) {
  return (
    <span className={`badge st-${state} ${className}`} data-state={state}>
      {state.replace(/_/g, " ")}
    </span>
  );
}

/** A small coloured square, e.g. a recent run in the DAG list. */
export function StateDot({ state, title, onClick }: { state: string; title?: string; onClick?: () => void }) {
  return <span className={`dot st-${state}`} data-state={state} title={title ?? state} onClick={onClick} />;
}
