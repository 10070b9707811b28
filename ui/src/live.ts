// One EventSource for the whole app; components subscribe to the changes they care about.
import { useEffect, useRef, useState } from "react";
import { eventsUrl } from "./api";
import type { Change } from "./types";

type ChangeListener = (changes: Change[]) => void;
type StatusListener = (connected: boolean) => void;

const listeners = new Set<ChangeListener>();
const statusListeners = new Set<StatusListener>();
let source: EventSource | null = null;
let connected = false;
let pending: Change[] = [];
let flushTimer: number | undefined;

function setConnected(value: boolean): void {
  if (connected === value) return;
  connected = value;
  for (const l of statusListeners) l(value);
}

/** (Re)opens the stream, e.g. after the token changed. */
export function connectLive(): void {
  source?.close();
  const es = new EventSource(eventsUrl());
  source = es;
  // Whatever arrives proves the stream is up; an error while the browser reconnects does not mean it is down for good,
  // but the badge says so until the stream is open again.
  es.addEventListener("open", () => setConnected(true));
  es.addEventListener("ready", () => setConnected(true));
  es.addEventListener("error", () => setConnected(es.readyState === EventSource.OPEN));
  es.addEventListener("change", (e) => {
    setConnected(true);
    pending.push(JSON.parse((e as MessageEvent<string>).data) as Change);
    // Batch bursts (a run of 100 tasks changes a lot at once) into one render.
    flushTimer ??= window.setTimeout(() => {
      const batch = pending;
      pending = [];
      flushTimer = undefined;
      for (const l of listeners) l(batch);
    }, 100);
  });
}

/** Closes the stream (logout). */
export function disconnectLive(): void {
  source?.close();
  source = null;
  setConnected(false);
}

/** Calls `listener` with batches of changes. */
export function useChanges(listener: ChangeListener): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    const l: ChangeListener = (c) => ref.current(c);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
}

/** Whether the stream is connected. */
export function useLiveStatus(): boolean {
  const [value, setValue] = useState(connected);
  useEffect(() => {
    statusListeners.add(setValue);
    // The stream may have connected between this component's render and this effect: read the state again.
    setValue(connected);
    return () => void statusListeners.delete(setValue);
  }, []);
  return value;
}
