// Live read receipts. A `chat.read` event says how far one member read, not whether
// they had read a given message before, so counts cannot be patched from events
// without double counting. Instead, when others read, the own messages on screen are
// fetched again in one request (debounced per chat) and their `read_by` kept here.
import { api } from "../../../api/client";
import type { MessagePage } from "../../../api/types";
import { subscribe } from "../../../net/events";
import { currentMe } from "../../../store/session";

const REFRESH_DELAY_MS = 1200;
const PAGE = 100;

const counts = new Map<number, number>(); // message → read_by last fetched
const watched = new Map<number, Map<number, Set<() => void>>>(); // chat → message → listeners
const timers = new Map<number, ReturnType<typeof setTimeout>>();
let started = false;

async function refresh(chatId: number): Promise<void> {
  const messages = watched.get(chatId);
  if (!messages || messages.size === 0) return;
  const lowest = Math.min(...messages.keys());
  const page = await api<MessagePage>("GET", `/chats/${chatId}/messages`, undefined, { query: { after: lowest - 1, limit: PAGE } });
  for (const message of page.messages) {
    if (typeof message.read_by !== "number") continue;
    counts.set(message.id, message.read_by);
    messages.get(message.id)?.forEach((listener) => listener());
  }
}

function schedule(chatId: number): void {
  if (timers.has(chatId)) return;
  timers.set(
    chatId,
    setTimeout(() => {
      timers.delete(chatId);
      refresh(chatId).catch(() => undefined); // the next read event tries again
    }, REFRESH_DELAY_MS),
  );
}

function start(): void {
  if (started) return;
  started = true;
  subscribe("chat.read", (event) => {
    const userId = event.data?.user_id;
    const upTo = event.data?.message_id;
    if (!event.chat_id || userId === currentMe()?.id || typeof upTo !== "number") return;
    const messages = watched.get(event.chat_id);
    if (messages && [...messages.keys()].some((id) => id <= upTo)) schedule(event.chat_id);
  });
}

/** The freshest known `read_by` of a message (null: nothing newer than its props). */
export function liveReadBy(messageId: number): number | null {
  return counts.get(messageId) ?? null;
}

/** Keep this own message's count fresh while it is shown. */
export function watchReceipt(chatId: number, messageId: number, listener: () => void): () => void {
  start();
  const messages = watched.get(chatId) ?? new Map<number, Set<() => void>>();
  watched.set(chatId, messages);
  const listeners = messages.get(messageId) ?? new Set<() => void>();
  messages.set(messageId, listeners);
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) messages.delete(messageId);
  };
}
