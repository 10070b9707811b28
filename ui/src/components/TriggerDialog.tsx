import { useMemo, useState, type FormEvent } from "react";
import { api, ApiFailure, seg } from "../api";
import type { DagDetail, Run } from "../types";

type Kind = "string" | "number" | "integer" | "boolean" | "json" | "enum";
interface Field {
  name: string;
  kind: Kind;
  options: unknown[];
  description: string | null;
  required: boolean;
  initial: string;
}

type Schema = Record<string, unknown>;

/** Builds form fields from the DAG's param defaults and (when present) its params schema. */
function fieldsOf(dag: DagDetail): Field[] {
  const schema = (dag.paramsSchema ?? {}) as Schema;
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const names = [...new Set([...Object.keys(dag.params), ...Object.keys(props)])];
  return names.map((name) => {
    const p = props[name] ?? {};
    const value = dag.params[name];
    const type = Array.isArray(p.type) ? p.type[0] : p.type;
    let kind: Kind;
    if (Array.isArray(p.enum)) kind = "enum";
    else if (type === "integer" || type === "number" || type === "boolean" || type === "string") kind = type;
    else if (type === "object" || type === "array") kind = "json";
    else if (typeof value === "number") kind = Number.isInteger(value) ? "integer" : "number";
    else if (typeof value === "boolean") kind = "boolean";
    else if (typeof value === "string" || value === undefined) kind = "string";
    else kind = "json";
    const initial = value === undefined ? (p.default === undefined ? "" : String(kind === "json" ? JSON.stringify(p.default) : p.default)) : kind === "json" ? JSON.stringify(value, null, 2) : String(value);
    return { name, kind, options: Array.isArray(p.enum) ? (p.enum as unknown[]) : [], description: typeof p.description === "string" ? p.description : null, required: required.has(name), initial };
  });
}

/** Converts the form's strings to conf values; throws naming the field when one is not valid. */
function confOf(fields: Field[], values: Record<string, string>): Record<string, unknown> {
  const conf: Record<string, unknown> = {};
  for (const f of fields) {
    const raw = values[f.name] ?? "";
    if (raw === "" && f.kind !== "string" && f.kind !== "boolean") continue;
    switch (f.kind) {
      case "number":
      case "integer": {
        const n = Number(raw);
        if (!Number.isFinite(n) || (f.kind === "integer" && !Number.isInteger(n))) throw new Error(`${f.name}: enter ${f.kind === "integer" ? "a whole number" : "a number"}`);
        conf[f.name] = n;
        break;
      }
      case "boolean":
        conf[f.name] = raw === "true";
        break;
      case "json":
        try {
          conf[f.name] = JSON.parse(raw);
        } catch {
          throw new Error(`${f.name}: not valid JSON`);
        }
        break;
      case "enum": {
        const match = f.options.find((o) => String(o) === raw);
        conf[f.name] = match ?? raw;
        break;
      }
      default:
        conf[f.name] = raw;
    }
  }
  return conf;
}

/** The trigger dialog: a form generated from the DAG's params (and schema), or raw JSON conf. */
export function TriggerDialog({ dag, onClose, onTriggered }: { dag: DagDetail; onClose: () => void; onTriggered: (runId: string) => void }) {
  const fields = useMemo(() => fieldsOf(dag), [dag]);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((f) => [f.name, f.initial])));
  const [raw, setRaw] = useState<string | null>(null);
  const [runId, setRunId] = useState("");
  const [logicalDate, setLogicalDate] = useState("");
  const [error, setError] = useState<{ message: string; hint?: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    let conf: Record<string, unknown>;
    try {
      conf = raw !== null ? (JSON.parse(raw || "{}") as Record<string, unknown>) : confOf(fields, values);
      if (typeof conf !== "object" || conf === null || Array.isArray(conf)) throw new Error("conf must be a JSON object");
    } catch (err) {
      setError({ message: (err as Error).message });
      return;
    }
    const body: Record<string, unknown> = { conf };
    if (runId.trim()) body.runId = runId.trim();
    if (logicalDate) body.logicalDate = new Date(logicalDate).toISOString();
    setBusy(true);
    try {
      const run = await api<Run>(`/dags/${seg(dag.dagId)}/runs`, { method: "POST", body });
      onTriggered(run.runId);
    } catch (err) {
      setError(err instanceof ApiFailure ? { message: err.message, hint: err.hint } : { message: String(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <form className="modal" role="dialog" aria-label={`Trigger ${dag.dagId}`} onSubmit={submit} data-testid="trigger-dialog">
        <div className="panel-head">
          <h2>Trigger {dag.dagId}</h2>
          <div className="spacer" />
          <button type="button" className="btn ghost small" onClick={onClose} aria-label="Close">✕</button>
        </div>
        {raw === null ? (
          fields.length === 0 ? (
            <p className="muted">This DAG has no params.</p>
          ) : (
            <div className="form-grid">
              {fields.map((f) => (
                <label key={f.name} className="field">
                  <span>
                    {f.name}
                    {f.required && <b className="req">*</b>} <em className="muted small">{f.kind}</em>
                  </span>
                  <FieldInput field={f} value={values[f.name] ?? ""} onChange={(v) => setValues({ ...values, [f.name]: v })} />
                  {f.description && <small className="muted">{f.description}</small>}
                </label>
              ))}
            </div>
          )
        ) : (
          <label className="field">
            <span>Conf (JSON)</span>
            <textarea name="conf" className="mono" rows={10} value={raw} onChange={(e) => setRaw(e.target.value)} />
          </label>
        )}
        <button type="button" className="link-btn small" onClick={() => {
          if (raw === null) {
            let current: Record<string, unknown> = {};
            try {
              current = confOf(fields, values);
            } catch {
              current = {};
            }
            setRaw(JSON.stringify(current, null, 2));
          } else setRaw(null);
        }}>
          {raw === null ? "Edit conf as JSON" : "Back to the form"}
        </button>
        <details className="advanced">
          <summary>Advanced</summary>
          <div className="form-grid">
            <label className="field">
              <span>Run id</span>
              <input name="runId" placeholder="generated" value={runId} onChange={(e) => setRunId(e.target.value)} />
            </label>
            <label className="field">
              <span>Logical date</span>
              <input name="logicalDate" type="datetime-local" value={logicalDate} onChange={(e) => setLogicalDate(e.target.value)} />
            </label>
          </div>
        </details>
        {error && (
          <div className="form-error" role="alert" data-testid="trigger-error">
            {error.message}
            {error.hint && <div className="muted small">{error.hint}</div>}
          </div>
        )}
        <div className="modal-foot">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className="btn primary" data-action="trigger-submit" disabled={busy}>Trigger</button>
        </div>
      </form>
    </div>
  );
}

function FieldInput({ field, value, onChange }: { field: Field; value: string; onChange: (v: string) => void }) {
  const name = `param-${field.name}`;
  switch (field.kind) {
    case "boolean":
      return (
        <select name={name} value={value === "true" ? "true" : "false"} onChange={(e) => onChange(e.target.value)}>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      );
    case "enum":
      return (
        <select name={name} value={value} onChange={(e) => onChange(e.target.value)}>
          {field.options.map((o) => <option key={String(o)} value={String(o)}>{String(o)}</option>)}
        </select>
      );
    case "json":
      return <textarea name={name} className="mono" rows={3} value={value} onChange={(e) => onChange(e.target.value)} />;
    case "number":
    case "integer":
      return <input name={name} inputMode="decimal" value={value} onChange={(e) => onChange(e.target.value)} />;
    default:
      return <input name={name} value={value} onChange={(e) => onChange(e.target.value)} />;
  }
}
