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
  connected = value;
  for (const l of statusListeners) l(value);
}

/** (Re)opens the stream, e.g. after the token changed. */
export function connectLive(): void {
  source?.close();
  source = new EventSource(eventsUrl());
  source.addEventListener("ready", () => setConnected(true));
  source.addEventListener("error", () => setConnected(false));
  source.addEventListener("change", (e) => {
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
    return () => void statusListeners.delete(setValue);
  }, []);
  return value;
}
