// The live connection to /api/v1/ws (protocol: docs/realtime.md). It authenticates in
// the first frame with `since` = the last applied event id (kept with the offline copy),
// applies every event once and in order to the chat store, publishes it through
// net/events.ts, reconnects with backoff, and falls back to GET /sync when the socket
// does not come up. Ephemeral frames (typing, presence) are published as events with
// id 0: {type: "typing", chat_id, data: {chat_id, user_id}} and
// {type: "presence", chat_id: null, data: {user_id, online}}.
import { api, getToken } from "../api/client";
import type { Message, ServerEvent, SyncOut } from "../api/types";
import { onStart } from "../boot";
import { applyServerEvents, chatState, clearChats, hydrate, ownMessageStored, position, previewChats, refreshChat, refreshChats, resetTo, setMe } from "../store/chats";
import { onOutboxResult, outbox, resetOutbox, restoreOutbox } from "../store/outbox";
import { currentMe, onSignOut, signOut } from "../store/session";
import { publish } from "./events";
import { setConnectionState } from "./status";

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
const PING_EVERY_MS = 20_000;
/** No frame at all for this long (the server pings every 20 s): the link is dead. */
const SILENCE_MS = 50_000;
/** Failed opens in a row before events are also fetched with GET /sync. */
const SYNC_FALLBACK_AFTER = 3;
const SYNC_PAGE = 500;

/** Delay before reconnect attempt `attempt` (0-based): doubling, capped, "equal jitter". */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt, 16));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** The events of a batch not applied yet, in id order, each once. */
export function freshEvents(applied: number | null, events: ServerEvent[]): ServerEvent[] {
  const seen = new Set<number>();
  return [...events]
    .sort((a, b) => a.id - b.id)
    .filter((event) => {
      if ((applied !== null && event.id <= applied) || seen.has(event.id)) return false;
      seen.add(event.id);
      return true;
    });
}

/** The first frame: the token, and where to resume (omitted: start from now). */
export function authFrame(token: string, applied: number | null): { type: "auth"; token: string; since?: number } {
  return applied === null ? { type: "auth", token } : { type: "auth", token, since: applied };
}

/** The socket URL for the page's origin (wss on https). */
export function socketUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/api/v1/ws`;
}

type Frame =
  | { type: "ready"; user_id: number; head: number }
  | { type: "events"; events: ServerEvent[]; next: number }
  | { type: "reset"; next: number }
  | { type: "typing"; chat_id: number; user_id: number }
  | { type: "presence"; user_id: number; online: boolean }
  | { type: "pong" }
  | { type: "error"; error: { code: string; message: string } };

let socket: WebSocket | null = null;
let running = false;
let attempt = 0;
let failedOpens = 0;
let ready = false;
let refreshedOnce = false;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let pingTimer: ReturnType<typeof setInterval> | null = null;
let lastFrameAt = 0;

/** Apply in order, publish each, and settle pending sends the server confirms. */
function deliver(events: ServerEvent[]): void {
  const fresh = freshEvents(position(), events);
  if (!fresh.length) return;
  applyServerEvents(fresh);
  const me = chatState().me;
  for (const event of fresh) {
    const message = (event.data as { message?: Message }).message;
    if (event.type === "message.created" && message?.client_msg_id && message.sender_id === me) outbox.confirm(message.client_msg_id);
    publish(event);
  }
}

function ephemeral(type: string, chatId: number | null, data: Record<string, unknown>): void {
  publish({ id: 0, type, at: new Date().toISOString(), chat_id: chatId, data });
}

async function onReady(frame: { user_id: number; head: number }): Promise<void> {
  ready = true;
  attempt = 0;
  failedOpens = 0;
  setMe(frame.user_id);
  setConnectionState("online");
  void outbox.flush();
  if (position() === null) {
    await resetTo(frame.head).catch(() => undefined);
  } else if (!refreshedOnce) {
    // The copy may be from days ago: the list is refetched once per start (events keep it fresh after).
    await refreshChats().catch(() => undefined);
  }
  refreshedOnce = true;
}

function onFrame(text: string): void {
  lastFrameAt = Date.now();
  let frame: Frame;
  try {
    frame = JSON.parse(text) as Frame;
  } catch {
    return;
  }
  switch (frame.type) {
    case "ready":
      void onReady(frame);
      break;
    case "events":
      deliver(frame.events);
      break;
    case "reset":
      void resetTo(frame.next).catch(() => undefined);
      break;
    case "typing":
      ephemeral("typing", frame.chat_id, { chat_id: frame.chat_id, user_id: frame.user_id });
      break;
    case "presence":
      ephemeral("presence", null, { user_id: frame.user_id, online: frame.online });
      break;
    default:
      break; // pong, error (a close follows)
  }
}

function open(): void {
  const token = getToken();
  if (!running || !token || socket) return;
  if (typeof navigator !== "undefined" && navigator.onLine === false) {
    setConnectionState("offline");
    return; // the `online` event reconnects
  }
  setConnectionState("connecting");
  ready = false;
  const ws = new WebSocket(socketUrl(location));
  socket = ws;
  ws.onopen = () => ws.send(JSON.stringify(authFrame(token, position())));
  ws.onmessage = (event: MessageEvent<string>) => onFrame(event.data);
  ws.onclose = (event: CloseEvent) => onClose(ws, event.code);
  lastFrameAt = Date.now();
}

function onClose(ws: WebSocket, code: number): void {
  if (socket !== ws) return;
  socket = null;
  if (!running) return;
  if (code === 4001) {
    void signOut({ callServer: false });
    return;
  }
  if (!ready) failedOpens++;
  setConnectionState(typeof navigator !== "undefined" && navigator.onLine === false ? "offline" : "connecting");
  if (failedOpens >= SYNC_FALLBACK_AFTER) void syncCatchUp();
  scheduleReconnect();
}

function scheduleReconnect(): void {
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = setTimeout(() => {
    retryTimer = null;
    open();
  }, backoffDelay(attempt++));
}

/** Reconnect at once (back online, tab shown) unless a socket is up. */
export function reconnectNow(): void {
  if (!running || socket) return;
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = null;
  attempt = 0;
  open();
}

/** Catch up through GET /sync (the socket does not come up, e.g. behind a proxy). */
export async function syncCatchUp(): Promise<void> {
  for (let page = 0; page < 50; page++) {
    const since = position();
    const answer = await api<SyncOut>("GET", "/sync", undefined, { query: { since: since ?? undefined, limit: SYNC_PAGE } }).catch(() => null);
    if (!answer) return;
    if (answer.reset || since === null) {
      await resetTo(answer.next).catch(() => undefined);
      return;
    }
    deliver(answer.events);
    if (!answer.has_more) return;
  }
}

function heartbeat(): void {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  if (Date.now() - lastFrameAt > SILENCE_MS) {
    socket.close(4009);
    onClose(socket, 4009);
    return;
  }
  socket.send('{"type":"ping"}');
}

let lastTyping = 0;
/** Tell the chat we are typing (at most every 3 s; dropped when not connected). */
export function sendTyping(chatId: number): void {
  const now = Date.now();
  if (!socket || !ready || now - lastTyping < 3000) return;
  lastTyping = now;
  socket.send(JSON.stringify({ type: "typing", chat_id: chatId }));
}

function onOnline(): void {
  reconnectNow();
  void outbox.flush();
}

function onOffline(): void {
  setConnectionState("offline");
  socket?.close();
}

function onVisible(): void {
  if (document.visibilityState === "visible") reconnectNow();
}

/** Start (idempotent): the offline copy first, then the socket and the queue. */
export function startConnection(): void {
  if (running || !getToken()) return;
  running = true;
  refreshedOnce = false;
  void hydrate(currentMe()?.id ?? null).then(() => {
    void restoreOutbox();
    open();
    void previewChats().catch(() => undefined);
  });
  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);
  window.addEventListener("focus", reconnectNow);
  document.addEventListener("visibilitychange", onVisible);
  pingTimer = setInterval(heartbeat, PING_EVERY_MS);
}

export function stopConnection(): void {
  running = false;
  if (retryTimer) clearTimeout(retryTimer);
  if (pingTimer) clearInterval(pingTimer);
  retryTimer = pingTimer = null;
  const ws = socket;
  socket = null;
  ws?.close(1000);
  window.removeEventListener("online", onOnline);
  window.removeEventListener("offline", onOffline);
  window.removeEventListener("focus", reconnectNow);
  document.removeEventListener("visibilitychange", onVisible);
}

onOutboxResult({
  sent: ownMessageStored,
  failed: (item, error) => {
    if (error.code === "chat_archived") void refreshChat(item.chat_id).catch(() => undefined);
  },
});
onStart(startConnection);
onSignOut(async () => {
  stopConnection();
  resetOutbox();
  await clearChats();
});
