/**
 * Pan and zoom of a drawing inside a box: the wheel zooms around the pointer, dragging the background pans, and
 * fit() shows the whole drawing (never enlarged past 100 %). The transform is plain state; the drawing reads it.
 */
import { useCallback, useEffect, useRef, useState, type RefObject } from "react";

/** translate(x, y) scale(k). */
export interface Transform {
  x: number;
  y: number;
  k: number;
}

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 2.5;
const FIT_MARGIN = 12;
/** Pixels a press must move before it is a drag (a shorter one stays a click on what is under it). */
const DRAG_SLOP = 4;

const clamp = (k: number) => Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));

/** The transform that shows a `width` × `height` drawing whole in a `box`. */
export function fitTransform(width: number, height: number, box: { width: number; height: number }): Transform {
  const k = clamp(Math.min(1, (box.width - 2 * FIT_MARGIN) / Math.max(1, width), (box.height - 2 * FIT_MARGIN) / Math.max(1, height)));
  return { k, x: (box.width - width * k) / 2, y: Math.max(FIT_MARGIN, (box.height - height * k) / 2) };
}

/** Viewport state of the element `box`, for a drawing of `width` × `height`; fits it when `fitKey` changes. */
export function useViewport(box: RefObject<HTMLElement | null>, width: number, height: number, fitKey: string) {
  const [t, setT] = useState<Transform>({ x: 0, y: 0, k: 1 });
  const [size, setSize] = useState({ width: 0, height: 0 });
  const moved = useRef(false);
  const current = useRef(t);
  current.current = t;
  const dims = useRef({ width, height });
  dims.current = { width, height };

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const read = () => setSize({ width: el.clientWidth, height: el.clientHeight });
    read();
    const ro = new ResizeObserver(read);
    ro.observe(el);
    return () => ro.disconnect();
  }, [box]);

  const fit = useCallback(() => {
    const el = box.current;
    if (el) setT(fitTransform(dims.current.width, dims.current.height, { width: el.clientWidth, height: el.clientHeight }));
  }, [box]);

  // Fit on open and whenever the drawing is another one (not when a group opens: the view stays where it was).
  const fitted = useRef<string | null>(null);
  useEffect(() => {
    if (size.width === 0 || fitted.current === fitKey) return;
    fitted.current = fitKey;
    fit();
  }, [fitKey, size.width, fit]);

  const zoomBy = useCallback((factor: number, at?: { x: number; y: number }) => {
    const el = box.current;
    const cx = at?.x ?? (el?.clientWidth ?? 0) / 2;
    const cy = at?.y ?? (el?.clientHeight ?? 0) / 2;
    setT((old) => {
      const k = clamp(old.k * factor);
      // The point under (cx, cy) stays under it.
      return { k, x: cx - ((cx - old.x) * k) / old.k, y: cy - ((cy - old.y) * k) / old.k };
    });
  }, [box]);

  // React's wheel listeners are passive; zooming must stop the page from scrolling, so this one is not.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      zoomBy(Math.exp(-delta * 0.0015), { x: e.clientX - r.left, y: e.clientY - r.top });
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, [box, zoomBy]);

  /** Starts a pan on a press; a press that does not move stays a click. */
  const onPointerDown = useCallback((e: React.PointerEvent) => {
    if (e.button !== 0) return;
    const start = { x: e.clientX, y: e.clientY };
    moved.current = false;
    const origin = current.current;
    const move = (ev: PointerEvent) => {
      const dx = ev.clientX - start.x;
      const dy = ev.clientY - start.y;
      if (!moved.current && Math.hypot(dx, dy) < DRAG_SLOP) return;
      moved.current = true;
      setT({ k: origin.k, x: origin.x + dx, y: origin.y + dy });
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }, []);

  /** Centres the drawing's point (x, y) in the box at zoom `k`. */
  const focus = useCallback((x: number, y: number, k: number) => {
    const el = box.current;
    if (!el) return;
    const z = clamp(k);
    setT({ k: z, x: el.clientWidth / 2 - x * z, y: el.clientHeight / 2 - y * z });
  }, [box]);

  /** True right after a drag: the click that ends it must not select what is under the pointer. */
  const wasDrag = useCallback(() => moved.current, []);

  return { transform: t, size, fit, zoomBy, focus, onPointerDown, wasDrag };
}
