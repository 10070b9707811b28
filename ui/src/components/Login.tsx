import { useState, type FormEvent } from "react";
import { api, ApiFailure, setToken } from "../api";

/** Asks for an API token and keeps it for the browser session. */
export function Login({ onLogin }: { onLogin: () => void }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setToken(value.trim());
    try {
      await api("/auth");
      onLogin();
    } catch (err) {
      setToken(null);
      setError(err instanceof ApiFailure && err.status === 401 ? "That token is not valid for this server." : String((err as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="login">
      <form className="login-card" onSubmit={submit}>
        <div className="brand big">
          <Logo /> Airlock
        </div>
        <p className="muted">This server needs an API token. It is kept for this browser tab only.</p>
        <label className="field">
          <span>API token</span>
          <input name="token" type="password" autoFocus autoComplete="current-password" value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        {error && <div className="form-error" role="alert">{error}</div>}
        <button className="btn primary" type="submit" disabled={busy || value.trim() === ""}>
          Sign in
        </button>
        <p className="muted small">Tip: open the UI with <code>?token=…</code> to sign in from a link.</p>
      </form>
    </div>
  );
}

/** The product mark. */
export function Logo() {
  return (
    <svg width="18" height="18" viewBox="0 0 16 16" aria-hidden="true">
      <rect width="16" height="16" rx="3" fill="#243b55" />
      <path d="M4 11V6a4 4 0 0 1 8 0v5" stroke="#fff" strokeWidth="2" fill="none" />
    </svg>
  );
}
