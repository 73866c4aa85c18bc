// In-page fan-out of server events. The connection (net/ws.ts, with /sync as its
// fallback) publishes every event once, in log order; screens subscribe to the types
// they show. Unknown types are simply not subscribed to.
import type { ServerEvent } from "../api/types";

type Handler = (event: ServerEvent) => void;

const byType = new Map<string, Set<Handler>>();
const any = new Set<Handler>();

/** Subscribe to one event type ("*" for all); returns the unsubscribe function. */
export function subscribe(type: string, handler: Handler): () => void {
  const set = type === "*" ? any : byType.get(type) ?? new Set<Handler>();
  if (type !== "*") byType.set(type, set);
  set.add(handler);
  return () => set.delete(handler);
}

export function publish(event: ServerEvent): void {
  byType.get(event.type)?.forEach((handler) => handler(event));
  any.forEach((handler) => handler(event));
}
