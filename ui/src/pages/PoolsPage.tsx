import { useState } from "react";
import { api, seg } from "../api";
import { ActionButton } from "../components/Action";
import { useResource } from "../data";
import { useCanAct } from "../session";

/** A pool with its occupancy, as GET /api/v1/pools returns it. */
interface PoolRow {
  name: string;
  slots: number;
  description: string | null;
  running: number;
  queued: number;
  defined: boolean;
}

/** Pools: slots, running and queued tasks (live), with slot changes, creation and deletion for admins. */
export function PoolsPage() {
  // Task changes move the running/queued counts; a slot change wakes the same reload through its own action.
  const res = useResource<{ pools: PoolRow[] }>("/pools", (c) => c.kind === "task");
  const pools = res.data?.pools ?? [];
  const canAct = useCanAct();
  const [name, setName] = useState("");
  const [slots, setSlots] = useState("1");
  const save = async (pool: string, value: string) => {
    await api(`/pools/${seg(pool)}`, { method: "PUT", body: { slots: Number(value) } });
    res.reload();
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Pools</h1>
        <span className="muted">{res.data ? `${pools.length} total` : ""}</span>
      </div>
      {res.error && <div className="error-box">{res.error.message}</div>}
      <table className="table" data-testid="pools">
        <thead>
          <tr><th>Pool</th><th>Slots</th><th>Running</th><th>Queued</th><th>Description</th><th /></tr>
        </thead>
        <tbody>
          {pools.map((p) => (
            <PoolLine key={p.name} pool={p} canAct={canAct} onSave={save} onDelete={async () => {
              await api(`/pools/${seg(p.name)}`, { method: "DELETE" });
              res.reload();
            }} />
          ))}
        </tbody>
      </table>
      {canAct && (
        <form className="inline-form" onSubmit={(e) => e.preventDefault()}>
          <input aria-label="New pool name" placeholder="pool name" value={name} onChange={(e) => setName(e.target.value)} />
          <input aria-label="New pool slots" type="number" min={0} value={slots} onChange={(e) => setSlots(e.target.value)} />
          <ActionButton label="Add pool" action="add-pool" kind="primary" run={async () => {
            await save(name, slots);
            setName("");
          }} />
        </form>
      )}
    </div>
  );
}

function PoolLine({ pool, canAct, onSave, onDelete }: { pool: PoolRow; canAct: boolean; onSave: (name: string, slots: string) => Promise<void>; onDelete: () => Promise<void> }) {
  const [slots, setSlots] = useState(String(pool.slots));
  return (
    <tr data-pool={pool.name}>
      <td><strong>{pool.name}</strong>{!pool.defined && <span className="muted small"> (not created: default slots)</span>}</td>
      <td>
        {canAct
          ? <input aria-label={`Slots of ${pool.name}`} type="number" min={0} value={slots} onChange={(e) => setSlots(e.target.value)} style={{ width: "6em" }} />
          : pool.slots}
      </td>
      <td className="num" data-pool-running={pool.running}>{pool.running}</td>
      <td className="num" data-pool-queued={pool.queued}>{pool.queued}</td>
      <td>{pool.description ?? ""}</td>
      <td>
        {canAct && <ActionButton label="Save" action="save-pool" run={() => onSave(pool.name, slots)} />}
        {canAct && pool.defined && pool.name !== "default" && (
          <ActionButton label="Delete" action="delete-pool" kind="danger" confirm={`Delete pool ${pool.name}?`} run={onDelete} />
        )}
      </td>
    </tr>
  );
}
