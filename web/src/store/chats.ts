// The live chat state of this device: the reducer's state, kept in memory, saved to
// IndexedDB, fed by the connection (net/ws.ts) and by page loads. Screens read it
// through useChatStore(selector).
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/client";
import type { Chat, ChatList, Message, MessagePage, ServerEvent } from "../api/types";
import { clearCache, loadSnapshot, saveSnapshot } from "./cache";
import {
  applyEvents,
  emptyState,
  replayEvents,
  withChat,
  withChats,
  withMembers,
  withOwnRead,
  withPage,
  withoutNotice,
  type ChatState,
  type Member,
} from "./reducer";

const PAGE = 50;
const SAVE_DELAY_MS = 400;

let state: ChatState = emptyState();
let hydrated: Promise<void> | null = null;
/** Events applied while a refetch of the list is in flight, replayed on its answer. */
let replay: ServerEvent[] | null = null;
let saveTimer: ReturnType<typeof setTimeout> | null = null;
let generation = 0; // bumps at sign-out, so late answers of the old session are dropped
const listeners = new Set<() => void>();

export function chatState(): ChatState {
  return state;
}

function commit(next: ChatState): void {
  if (next === state) return;
  state = next;
  listeners.forEach((listener) => listener());
  scheduleSave();
  if (state.missing.length) void fetchMissing();
}

function saveNow(): void {
  if (saveTimer) clearTimeout(saveTimer);
  saveTimer = null;
  // Never save a state that has not synced: a position-less copy is no resume point.
  if (state.position !== null) void saveSnapshot(state).catch(() => undefined);
}

function scheduleSave(): void {
  if (!saveTimer) saveTimer = setTimeout(saveNow, SAVE_DELAY_MS);
}

// Leaving or hiding the page writes the copy at once rather than after the pause.
if (typeof window !== "undefined") {
  window.addEventListener("pagehide", () => saveTimer && saveNow());
  document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && saveTimer && saveNow());
}

/**
 * A slice of the state, re-rendered when it changes (compared by identity, so select
 * slices such as `s.chats` or `s.windows[id]` and derive lists with useMemo).
 */
export function useChatStore<T>(select: (value: ChatState) => T): T {
  const selectRef = useRef(select);
  selectRef.current = select;
  const [, force] = useState(0);
  const selected = select(state);
  const rendered = useRef(selected);
  rendered.current = selected;
  useEffect(() => {
    let last = rendered.current;
    const listener = () => {
      const value = selectRef.current(state);
      if (!Object.is(value, last)) {
        last = value;
        force((n) => n + 1);
      }
    };
    listeners.add(listener);
    listener(); // the state may have changed between this render and the subscription
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return selected;
}

/** Load the offline copy once (the list shows at once, even offline). */
export function hydrate(me: number | null): Promise<void> {
  hydrated ??= loadSnapshot(me)
    .then((saved) => {
      if (saved && state.position === null && Object.keys(state.chats).length === 0) commit(saved);
      else if (me !== null && state.me === null) commit({ ...state, me });
    })
    .catch(() => undefined);
  return hydrated;
}

export function setMe(me: number): void {
  if (state.me !== me) commit({ ...state, me });
}

export function position(): number | null {
  return state.position;
}

/** Events from the server, in order (the reducer skips those already applied). */
export function applyServerEvents(events: ServerEvent[]): void {
  if (!events.length) return;
  replay?.push(...events);
  commit(applyEvents(state, events));
}

async function fetchAllChats(): Promise<Chat[]> {
  const chats: Chat[] = [];
  let cursor: string | null | undefined;
  for (let page = 0; page < 20; page++) {
    const list = await api<ChatList>("GET", "/chats", undefined, { query: { limit: 100, cursor } });
    chats.push(...list.chats);
    cursor = list.next_cursor;
    if (!cursor) break;
  }
  return chats;
}

/** Refetch the chat list; events that arrived meanwhile are applied again on top. */
export async function refreshChats(): Promise<void> {
  const mine = generation;
  replay = [];
  try {
    const chats = await fetchAllChats();
    if (mine !== generation) return;
    commit(replayEvents(withChats(state, chats), replay));
  } finally {
    if (mine === generation) replay = null;
  }
}

/**
 * A device with no copy yet (first sign-in, new phone): fetch the list at once, in
 * parallel with opening the socket, instead of after its `ready` frame — one round trip
 * less on a slow link. Only a preview: `ready` then sets the exact position and
 * refetches (resetTo), and the preview is dropped if that already happened.
 */
export async function previewChats(): Promise<void> {
  const empty = () => state.position === null && Object.keys(state.chats).length === 0;
  if (!empty()) return;
  const mine = generation;
  const early = await takePrefetchedChats();
  const chats = early && !early.next_cursor ? early.chats : await fetchAllChats();
  if (mine === generation && empty()) commit(withChats(state, chats));
}

declare global {
  interface Window {
    __partaChats?: Promise<ChatList | null>;
  }
}

/** The first page of chats that index.html started fetching before the scripts loaded. */
async function takePrefetchedChats(): Promise<ChatList | null> {
  const early = window.__partaChats;
  window.__partaChats = undefined;
  return early ? early.catch(() => null) : null;
}

/** Too far behind: continue from `next`, drop loaded messages, refetch the list. */
export async function resetTo(next: number): Promise<void> {
  commit({ ...state, position: next, windows: {}, missing: [] });
  await refreshChats();
}

let fetching = false;
async function fetchMissing(): Promise<void> {
  if (fetching) return;
  fetching = true;
  const mine = generation;
  try {
    while (state.missing.length && mine === generation) {
      const chatId = state.missing[0] as number;
      try {
        commit(withChat(state, await api<Chat>("GET", `/chats/${chatId}`)));
      } catch {
        // Gone again or not ours (removed at once): forget it.
        commit({ ...state, missing: state.missing.filter((id) => id !== chatId) });
      }
    }
  } finally {
    fetching = false;
  }
}

/** One chat refreshed (e.g. after `chat_archived` on send). */
export async function refreshChat(chatId: number): Promise<void> {
  commit(withChat(state, await api<Chat>("GET", `/chats/${chatId}`)));
}

/** The newest page of a chat (on open, and after a reset). */
export async function loadNewest(chatId: number): Promise<void> {
  const page = await api<MessagePage>("GET", `/chats/${chatId}/messages`, undefined, { query: { limit: PAGE } });
  commit(withPage(state, chatId, page, true));
}

/** The page before the oldest loaded message; false when there is nothing older. */
export async function loadOlder(chatId: number): Promise<boolean> {
  const window = state.windows[chatId];
  const first = window?.messages[0];
  if (!window || !first) {
    await loadNewest(chatId);
    return state.windows[chatId]?.hasOlder ?? false;
  }
  if (!window.hasOlder) return false;
  const page = await api<MessagePage>("GET", `/chats/${chatId}/messages`, undefined, { query: { limit: PAGE, before: first.id } });
  commit(withPage(state, chatId, page, false));
  return page.has_more;
}

export async function loadMembers(chatId: number): Promise<void> {
  const list = await api<{ members: Member[] }>("GET", `/chats/${chatId}/members`);
  commit(withMembers(state, chatId, list.members));
}

/** Move the own read marker (only forward; the server answers the marker it keeps). */
export async function markRead(chatId: number, messageId: number): Promise<void> {
  const chat = state.chats[chatId];
  if (!chat || messageId <= chat.last_read_message_id) return;
  commit(withOwnRead(state, chatId, messageId));
  await api<{ last_read_message_id: number }>("POST", `/chats/${chatId}/read`, { message_id: messageId }).catch(() => undefined);
}

export function dismissNotice(id: number): void {
  commit(withoutNotice(state, id));
}

/** A message the server returned for our own send (same as its `message.created`). */
export function ownMessageStored(message: Message): void {
  const chat = state.chats[message.chat_id];
  if (!chat) return;
  const window = state.windows[message.chat_id];
  let next = window ? withPage(state, message.chat_id, { messages: [message], has_more: window.hasOlder }, false) : state;
  const last = chat.last_message?.id ?? 0;
  if (message.id > last) {
    const updated = { ...chat, last_message: message, last_activity_at: message.created_at > chat.last_activity_at ? message.created_at : chat.last_activity_at, last_read_message_id: Math.max(chat.last_read_message_id, message.id), unread_count: 0 };
    next = withChat(next, updated);
  }
  commit(next);
}

/** Sign-out: forget the state and the offline copy. */
export async function clearChats(): Promise<void> {
  generation++;
  replay = null;
  hydrated = null;
  if (saveTimer) clearTimeout(saveTimer);
  saveTimer = null;
  state = emptyState();
  listeners.forEach((listener) => listener());
  await clearCache().catch(() => undefined);
}
