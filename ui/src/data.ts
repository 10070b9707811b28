// Loading data and reloading it when matching changes arrive over SSE (no polling, no page reload).
import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiFailure } from "./api";
import { useChanges } from "./live";
import type { Change } from "./types";

/** State of a fetched resource. */
export interface Resource<T> {
  data: T | undefined;
  error: ApiFailure | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` (null = nothing to load) and reloads it when `relevant` says a change matters. Reloads coalesce:
 * while one is in flight, further changes cause exactly one more, so a busy scheduler cannot flood the server.
 */
export function useResource<T>(path: string | null, relevant?: (c: Change) => boolean): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiFailure | Error | undefined>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const seq = useRef(0);
  const inflight = useRef(false);
  const again = useRef(false);
  const load = useCallback(() => {
    if (path === null) return;
    if (inflight.current) {
      again.current = true;
      return;
    }
    const mine = ++seq.current;
    inflight.current = true;
    setLoading(true);
    const done = () => {
      inflight.current = false;
      if (again.current && mine === seq.current) {
        again.current = false;
        load();
      }
    };
    api<T>(path).then(
      (d) => {
        if (mine === seq.current) {
          setData(d);
          setError(undefined);
          setLoading(false);
        }
        done();
      },
      (e: unknown) => {
        if (mine === seq.current) {
          setError(e instanceof Error ? e : new Error(String(e)));
          setLoading(false);
        }
        done();
      },
    );
  }, [path]);
  useEffect(() => {
    setData(undefined);
    // A new path starts afresh even if the old one is still loading.
    inflight.current = false;
    again.current = false;
    load();
  }, [load]);
  useChanges((changes) => {
    if (relevant && changes.some(relevant)) load();
  });
  return { data, error, loading, reload: load };
}

/** The current time, refreshed every second while `active` (running durations). */
export function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [active]);
  return now;
}
