// Who is typing where. Typing frames are ephemeral (not in the event log): the chat
// core's socket passes them to net/events as `{type: "typing", chat_id, user_id}`.
// Each one keeps a person "typing" for TYPING_TTL_MS; a message from them ends it.
import type { ServerEvent } from "../../../api/types";
import { subscribe } from "../../../net/events";
import { TYPING_TTL_MS } from "./logic";

type Listener = () => void;

const expiries = new Map<number, Map<number, number>>(); // chat → user → expires at (ms)
const timers = new Map<string, ReturnType<typeof setTimeout>>();
const listeners = new Map<number, Set<Listener>>();
let feedStarted = false;

function notify(chatId: number): void {
  listeners.get(chatId)?.forEach((listener) => listener());
}

export function noteTyping(chatId: number, userId: number): void {
  const users = expiries.get(chatId) ?? new Map<number, number>();
  expiries.set(chatId, users);
  const isNew = !users.has(userId);
  users.set(userId, Date.now() + TYPING_TTL_MS);
  const key = `${chatId}:${userId}`;
  const previous = timers.get(key);
  if (previous) clearTimeout(previous);
  timers.set(key, setTimeout(() => clearTyping(chatId, userId), TYPING_TTL_MS));
  if (isNew) notify(chatId);
}

export function clearTyping(chatId: number, userId: number): void {
  const key = `${chatId}:${userId}`;
  const timer = timers.get(key);
  if (timer) clearTimeout(timer);
  timers.delete(key);
  if (expiries.get(chatId)?.delete(userId)) notify(chatId);
}

/** People typing in a chat now, in the order they started. */
export function typingUsers(chatId: number): number[] {
  const now = Date.now();
  return [...(expiries.get(chatId)?.entries() ?? [])].filter(([, until]) => until > now).map(([user]) => user);
}

export function onTypingChange(chatId: number, listener: Listener): () => void {
  startTypingFeed();
  const set = listeners.get(chatId) ?? new Set<Listener>();
  listeners.set(chatId, set);
  set.add(listener);
  return () => set.delete(listener);
}

function numberField(event: ServerEvent, name: string): number | null {
  // The frame may arrive flat (as the server sends it) or with its fields in `data`.
  const flat = (event as unknown as Record<string, unknown>)[name];
  const nested = event.data?.[name];
  const value = typeof flat === "number" ? flat : nested;
  return typeof value === "number" ? value : null;
}

/** Listens once for the whole page: typing frames start, new messages end. */
export function startTypingFeed(): void {
  if (feedStarted) return;
  feedStarted = true;
  subscribe("typing", (event) => {
    const chatId = numberField(event, "chat_id");
    const userId = numberField(event, "user_id");
    if (chatId !== null && userId !== null) noteTyping(chatId, userId);
  });
  subscribe("message.created", (event) => {
    const message = event.data?.message as { sender_id?: number | null } | undefined;
    if (event.chat_id && message?.sender_id) clearTyping(event.chat_id, message.sender_id);
  });
}
