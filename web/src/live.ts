// Live changes reach the normalized cache with their payload (a version's stage, an alias's
// target). What the payload does not carry (the history timeline, review requests) is fetched
// again by the page showing that model, when a change of it arrives.
import { useEffect, useRef } from "react";

const LIVE_CHANGE = "registro:live-change";

/** Announced after the live connection came back: any model may have changed meanwhile. */
export const EVERY_MODEL = "*";

export function announceLiveChange(model: string): void {
  window.dispatchEvent(new CustomEvent<string>(LIVE_CHANGE, { detail: model }));
}

/** Calls `refresh` whenever a live change of `model` arrives (or the live connection came back). */
export function useLiveRefresh(model: string, refresh: () => void): void {
  const latest = useRef(refresh);
  latest.current = refresh;
  useEffect(() => {
    const listener = (event: Event) => {
      const changed = (event as CustomEvent<string>).detail;
      if (changed === model || changed === EVERY_MODEL) latest.current();
    };
    window.addEventListener(LIVE_CHANGE, listener);
    return () => window.removeEventListener(LIVE_CHANGE, listener);
  }, [model]);
}
