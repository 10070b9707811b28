import { StrictMode, useCallback, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { adoptUrlToken, api, ApiFailure, onUnauthorized, setToken } from "./api";
import { Link } from "./components/Link";
import { Login, Logo } from "./components/Login";
import { connectLive, disconnectLive, useLiveStatus } from "./live";
import { DagListPage } from "./pages/DagListPage";
import { DagPage } from "./pages/DagPage";
import { EnvironmentsPage } from "./pages/EnvironmentsPage";
import { RoutesPage } from "./pages/RoutesPage";
import { WorkersPage } from "./pages/WorkersPage";
import { DatasetListPage, DatasetPage } from "./pages/DatasetsPage";
import { PoolsPage } from "./pages/PoolsPage";
import { AuditPage } from "./pages/AuditPage";
import { ConnectionsPage } from "./pages/ConnectionsPage";
import { VariablesPage } from "./pages/VariablesPage";
import { useLocation } from "./router";
import { SessionContext, type Session } from "./session";
import "./styles.css";

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [needLogin, setNeedLogin] = useState(false);
  const [fatal, setFatal] = useState<string | null>(null);

  const check = useCallback(async () => {
    try {
      const s = await api<Session>("/auth");
      setSession(s);
      setNeedLogin(false);
      connectLive();
    } catch (e) {
      if (e instanceof ApiFailure && e.status === 401) setNeedLogin(true);
      else setFatal(`Cannot reach the Airlock API: ${(e as Error).message}`);
    }
  }, []);

  useEffect(() => {
    adoptUrlToken();
    void check();
    return onUnauthorized(() => {
      disconnectLive();
      setNeedLogin(true);
    });
  }, [check]);

  if (fatal) return <div className="fatal">{fatal}</div>;
  if (needLogin) return <Login onLogin={() => void check()} />;
  if (!session) return <div className="boot">Loading…</div>;
  return (
    <SessionContext.Provider value={session}>
      <Shell
        session={session}
        onLogout={() => {
          setToken(null);
          disconnectLive();
          setSession(null);
          setNeedLogin(true);
        }}
      />
    </SessionContext.Provider>
  );
}

function Shell({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const loc = useLocation();
  const live = useLiveStatus();
  const dagMatch = /^\/dags\/([^/]+)\/?$/.exec(loc.path);
  let page;
  const datasetMatch = /^\/datasets\/([^/]+)\/?$/.exec(loc.path);
  if (dagMatch?.[1]) page = <DagPage dagId={decodeURIComponent(dagMatch[1])} query={loc.query} />;
  else if (datasetMatch?.[1]) page = <DatasetPage name={decodeURIComponent(datasetMatch[1])} />;
  else if (loc.path === "/datasets") page = <DatasetListPage />;
  else if (loc.path === "/environments") page = <EnvironmentsPage />;
  else if (loc.path === "/pools") page = <PoolsPage />;
  else if (loc.path === "/workers") page = <WorkersPage />;
  else if (loc.path === "/routes") page = <RoutesPage />;
  else if (loc.path === "/connections") page = <ConnectionsPage />;
  else if (loc.path === "/variables") page = <VariablesPage />;
  else if (loc.path === "/audit") page = <AuditPage query={loc.query} />;
  else page = <DagListPage query={loc.query} />;
  const section = loc.path.startsWith("/environments") ? "env" : loc.path.startsWith("/datasets") ? "data" : loc.path.startsWith("/pools") ? "pools"
    : loc.path.startsWith("/workers") ? "workers" : loc.path.startsWith("/routes") ? "routes"
    : loc.path.startsWith("/connections") ? "connections" : loc.path.startsWith("/variables") ? "variables" : loc.path.startsWith("/audit") ? "audit" : "dags";
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">
          <Logo /> Airlock
        </Link>
        <nav>
          <Link to="/" className={section === "dags" ? "active" : ""}>DAGs</Link>
          <Link to="/datasets" className={section === "data" ? "active" : ""}>Datasets</Link>
          <Link to="/environments" className={section === "env" ? "active" : ""}>Environments</Link>
          <Link to="/pools" className={section === "pools" ? "active" : ""}>Pools</Link>
          <Link to="/workers" className={section === "workers" ? "active" : ""}>Workers</Link>
          <Link to="/routes" className={section === "routes" ? "active" : ""}>Routes</Link>
          <Link to="/connections" className={section === "connections" ? "active" : ""}>Connections</Link>
          <Link to="/variables" className={section === "variables" ? "active" : ""}>Variables</Link>
          <Link to="/audit" className={section === "audit" ? "active" : ""}>Audit log</Link>
        </nav>
        <div className="spacer" />
        <span className={`live ${live ? "on" : "off"}`} data-live={live ? "on" : "off"} title={live ? "Live updates connected" : "Reconnecting to live updates…"}>
          {live ? "Live" : "Offline"}
        </span>
        <span className="role" title="Role of the token in use">{session.authEnabled ? session.role : "local"}</span>
        {session.authEnabled && (
          <button className="btn ghost small" onClick={onLogout}>
            Sign out
          </button>
        )}
      </header>
      <main className="content">{page}</main>
    </div>
  );
}

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
