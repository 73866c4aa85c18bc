// A countdown to a moment (the server's `resend_after` / `retry_after`), ticking
// once a second while it runs and stopping at zero.
import { useEffect, useState } from "preact/hooks";

/** Whole seconds from `now` until `until` (ms), never negative. */
export function secondsLeft(until: number | null, now: number): number {
  if (until === null) return 0;
  return Math.max(0, Math.ceil((until - now) / 1000));
}

/** "0:42", "1:05": short enough for a button. */
export function formatSeconds(total: number): string {
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, "0")}`;
}

/** Seconds left until `until` (a Date.now() value), re-rendering every second. */
export function useCountdown(until: number | null): number {
  const [left, setLeft] = useState(() => secondsLeft(until, Date.now()));
  useEffect(() => {
    setLeft(secondsLeft(until, Date.now()));
    if (until === null) return;
    const timer = setInterval(() => {
      const value = secondsLeft(until, Date.now());
      setLeft(value);
      if (value === 0) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [until]);
  return left;
}
