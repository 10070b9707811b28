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

/** GETs `path` (null = nothing to load) and reloads it when `relevant` says a change matters. */
export function useResource<T>(path: string | null, relevant?: (c: Change) => boolean): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiFailure | Error | undefined>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const seq = useRef(0);
  const load = useCallback(() => {
    if (path === null) return;
    const mine = ++seq.current;
    setLoading(true);
    api<T>(path).then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (mine !== seq.current) return;
        setError(e instanceof Error ? e : new Error(String(e)));
        setLoading(false);
      },
    );
  }, [path]);
  useEffect(() => {
    setData(undefined);
    load();
  }, [load]);
  useChanges((changes) => {
    if (relevant && changes.some(relevant)) load();
  });
  return { data, error, loading, reload: load };
}
