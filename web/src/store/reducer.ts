// The one reducer of the chat client: every server event, live (WebSocket) or synced
// (/sync), goes through applyEvent, and page loads go through the with* helpers.
// Pure functions over plain data: old state + events must equal a fresh fetch.
import type { Chat, Message, ServerEvent, UserPublic } from "../api/types";
import type { Schemas } from "../api/client";

export type Member = Schemas["parta__api__schemas__MemberOut"];

/** Loaded messages of one chat: always a contiguous run ending at the newest. */
export type MessageWindow = { messages: Message[]; hasOlder: boolean };

export type Notice = { id: number; text: string; orgName: string | null };

export type ChatState = {
  me: number | null;
  chats: Record<number, Chat>;
  windows: Record<number, MessageWindow>;
  /** Read positions of other members seen in `chat.read` events: chat → user → message. */
  readMarkers: Record<number, Record<number, number>>;
  members: Record<number, Member[]>;
  /** Chats named by events but not in the list yet: the store fetches them. */
  missing: number[];
  notices: Notice[];
  /** The id of the last event applied (null: never synced). */
  position: number | null;
};

export function emptyState(me: number | null = null): ChatState {
  return { me, chats: {}, windows: {}, readMarkers: {}, members: {}, missing: [], notices: [], position: null };
}

/** Chats by last activity, newest first (ties: the newer chat first). */
export function sortedChats(state: ChatState): Chat[] {
  return Object.values(state.chats).sort(
    (a, b) => (a.last_activity_at < b.last_activity_at ? 1 : a.last_activity_at > b.last_activity_at ? -1 : b.id - a.id),
  );
}

/** Merge two id-ordered message lists; `b` wins for equal ids. */
export function mergeMessages(a: Message[], b: Message[]): Message[] {
  const byId = new Map<number, Message>();
  for (const message of a) byId.set(message.id, message);
  for (const message of b) byId.set(message.id, message);
  return [...byId.values()].sort((x, y) => x.id - y.id);
}

/** The full chat list from GET /chats replaces the known chats (windows stay). */
export function withChats(state: ChatState, chats: Chat[]): ChatState {
  const next: Record<number, Chat> = {};
  for (const chat of chats) next[chat.id] = chat;
  const windows = Object.fromEntries(Object.entries(state.windows).filter(([id]) => Number(id) in next));
  return { ...state, chats: next, windows, missing: state.missing.filter((id) => !(id in next)) };
}

/** One chat (GET /chats/{id}) added or refreshed. */
export function withChat(state: ChatState, chat: Chat): ChatState {
  return { ...state, chats: { ...state.chats, [chat.id]: chat }, missing: state.missing.filter((id) => id !== chat.id) };
}

/**
 * A page of history. `newest`: the latest page (GET without before): it becomes the
 * window, keeping messages that arrived by events after it was read.
 */
export function withPage(state: ChatState, chatId: number, page: { messages: Message[]; has_more: boolean }, newest: boolean): ChatState {
  const current = state.windows[chatId];
  let window: MessageWindow;
  if (newest || !current) {
    const top = page.messages[page.messages.length - 1]?.id ?? 0;
    const later = current ? current.messages.filter((m) => m.id > top) : [];
    window = { messages: mergeMessages(page.messages, later), hasOlder: page.has_more };
  } else {
    window = { messages: mergeMessages(page.messages, current.messages), hasOlder: page.has_more };
  }
  return { ...state, windows: { ...state.windows, [chatId]: window } };
}

export function withMembers(state: ChatState, chatId: number, members: Member[]): ChatState {
  return { ...state, members: { ...state.members, [chatId]: members } };
}

/** Own read marker moved (the POST /read answer or a `chat.read` event of ours). */
export function withOwnRead(state: ChatState, chatId: number, messageId: number): ChatState {
  const chat = state.chats[chatId];
  if (!chat || messageId <= chat.last_read_message_id) return state;
  const unread = unreadAfter(state, chat, messageId);
  return replaceChat(state, { ...chat, last_read_message_id: messageId, unread_count: unread });
}

export function withoutNotice(state: ChatState, id: number): ChatState {
  return { ...state, notices: state.notices.filter((notice) => notice.id !== id) };
}

/**
 * Unread count after the marker moves to `marker`: exact when the loaded window
 * reaches back to the marker, otherwise the old count less what we can see was read.
 */
function unreadAfter(state: ChatState, chat: Chat, marker: number): number {
  if (chat.last_message && marker >= chat.last_message.id) return 0;
  const window = state.windows[chat.id];
  const counted = (m: Message) => m.sender_id !== state.me && !m.is_deleted;
  if (window && (!window.hasOlder || (window.messages[0]?.id ?? Infinity) <= marker)) {
    return window.messages.filter((m) => m.id > marker && counted(m)).length;
  }
  const seen = window?.messages.filter((m) => m.id > chat.last_read_message_id && m.id <= marker && counted(m)).length ?? 0;
  return Math.max(0, chat.unread_count - seen);
}

function replaceChat(state: ChatState, chat: Chat): ChatState {
  return { ...state, chats: { ...state.chats, [chat.id]: chat } };
}

function addMissing(state: ChatState, chatId: number): ChatState {
  if (chatId in state.chats || state.missing.includes(chatId)) return state;
  return { ...state, missing: [...state.missing, chatId] };
}

function removeChat(state: ChatState, chatId: number): ChatState {
  const { [chatId]: _chat, ...chats } = state.chats;
  const { [chatId]: _window, ...windows } = state.windows;
  const { [chatId]: _members, ...members } = state.members;
  return { ...state, chats, windows, members, missing: state.missing.filter((id) => id !== chatId) };
}

function messageCreated(state: ChatState, message: Message): ChatState {
  const chat = state.chats[message.chat_id];
  if (!chat) return addMissing(state, message.chat_id);
  const window = state.windows[chat.id];
  const next = window ? { ...state, windows: { ...state.windows, [chat.id]: { ...window, messages: mergeMessages(window.messages, [message]) } } } : state;
  const previous = chat.last_message?.id ?? 0;
  if (message.id <= previous) return replaceMessage(next, message);
  const own = message.sender_id === state.me;
  const updated: Chat = {
    ...chat,
    last_message: message,
    last_activity_at: message.created_at > chat.last_activity_at ? message.created_at : chat.last_activity_at,
    // One's own message counts as read (the server moves the marker with it).
    last_read_message_id: own ? message.id : chat.last_read_message_id,
    unread_count: own ? 0 : message.id > chat.last_read_message_id && !message.is_deleted ? chat.unread_count + 1 : chat.unread_count,
  };
  return replaceChat(next, updated);
}

/** Edits, deletions, pins, reactions: "replace the message by id" where it is shown. */
function replaceMessage(state: ChatState, message: Message): ChatState {
  let next = state;
  const window = state.windows[message.chat_id];
  const old = window?.messages.find((m) => m.id === message.id);
  if (window && old) {
    const messages = window.messages.map((m) => (m.id === message.id ? message : m));
    next = { ...next, windows: { ...next.windows, [message.chat_id]: { ...window, messages } } };
  }
  const chat = next.chats[message.chat_id];
  if (!chat) return next;
  let updated = chat;
  if (chat.last_message?.id === message.id) updated = { ...updated, last_message: message };
  const becameDeleted = message.is_deleted && !(old?.is_deleted ?? (chat.last_message?.id === message.id ? chat.last_message.is_deleted : false));
  if (becameDeleted && message.sender_id !== state.me && message.id > chat.last_read_message_id) {
    updated = { ...updated, unread_count: Math.max(0, updated.unread_count - 1) };
  }
  return updated === chat ? next : replaceChat(next, updated);
}

function chatRead(state: ChatState, chatId: number, userId: number, messageId: number): ChatState {
  if (userId === state.me) return withOwnRead(state, chatId, messageId);
  const markers = state.readMarkers[chatId] ?? {};
  if ((markers[userId] ?? 0) >= messageId) return state;
  return { ...state, readMarkers: { ...state.readMarkers, [chatId]: { ...markers, [userId]: messageId } } };
}

function patchChat(state: ChatState, chatId: number, patch: Partial<Chat>): ChatState {
  const chat = state.chats[chatId];
  return chat ? replaceChat(state, { ...chat, ...patch }) : state;
}

const CHAT_FIELDS = ["title", "description", "avatar_file_id", "is_archived", "archive_at", "archived_at", "successor_chat_id"] as const;

function chatUpdated(state: ChatState, chatId: number, data: Record<string, unknown>): ChatState {
  const patch: Record<string, unknown> = {};
  for (const field of CHAT_FIELDS) if (field in data) patch[field] = data[field];
  return patchChat(state, chatId, patch as Partial<Chat>);
}

function membersAdded(state: ChatState, chatId: number, users: UserPublic[]): ChatState {
  if (state.me !== null && users.some((user) => user.id === state.me) && !(chatId in state.chats)) return addMissing(state, chatId);
  const chat = state.chats[chatId];
  if (!chat) return state;
  const list = state.members[chatId];
  let next = replaceChat(state, { ...chat, member_count: chat.member_count + users.length });
  if (list) {
    const known = new Set(list.map((m) => m.id));
    const added = users.filter((u) => !known.has(u.id)).map((u): Member => ({ ...u, role: "member" }));
    next = withMembers(next, chatId, [...list, ...added]);
  }
  return next;
}

function memberRemoved(state: ChatState, chatId: number, userId: number): ChatState {
  if (userId === state.me) return removeChat(state, chatId);
  const chat = state.chats[chatId];
  if (!chat) return state;
  let next = replaceChat(state, { ...chat, member_count: Math.max(0, chat.member_count - 1) });
  const list = state.members[chatId];
  if (list) next = withMembers(next, chatId, list.filter((m) => m.id !== userId));
  return next;
}

function memberUpdated(state: ChatState, chatId: number, userId: number, role: string): ChatState {
  let next = userId === state.me ? patchChat(state, chatId, { role }) : state;
  const list = next.members[chatId];
  if (list) next = withMembers(next, chatId, list.map((m) => (m.id === userId ? { ...m, role } : m)));
  return next;
}

/** A member's new name or avatar, as this chat shows it (masked children stay masked). */
function userUpdated(state: ChatState, chatId: number, user: UserPublic): ChatState {
  const list = state.members[chatId];
  if (!list) return state;
  return withMembers(state, chatId, list.map((m) => (m.id === user.id ? { ...m, ...user } : m)));
}

type Data = Record<string, unknown>;
const num = (value: unknown): number | null => (typeof value === "number" ? value : null);

function applyType(state: ChatState, event: ServerEvent): ChatState {
  const data = event.data as Data;
  const chatId = event.chat_id ?? num(data.chat_id);
  const message = data.message as Message | undefined;
  switch (event.type) {
    case "message.created":
      return message ? messageCreated(state, message) : state;
    case "message.edited":
    case "message.deleted":
    case "message.pinned":
    case "message.unpinned":
    case "reaction.added":
    case "reaction.removed":
      return message ? replaceMessage(state, message) : state;
    case "chat.created":
      return chatId === null ? state : addMissing(state, chatId);
    case "chat.updated":
      return chatId === null ? state : chatUpdated(state, chatId, data);
    case "chat.archived":
      return chatId === null ? state : chatUpdated(state, chatId, { ...data, is_archived: true });
    case "chat.read": {
      const userId = num(data.user_id);
      const messageId = num(data.message_id);
      return chatId === null || userId === null || messageId === null ? state : chatRead(state, chatId, userId, messageId);
    }
    case "chat.member_added":
      return chatId === null ? state : membersAdded(state, chatId, (data.users as UserPublic[] | undefined) ?? []);
    case "chat.member_removed": {
      const userId = num(data.user_id);
      return chatId === null || userId === null ? state : memberRemoved(state, chatId, userId);
    }
    case "chat.removed":
    case "chat.deleted":
      return chatId === null ? state : removeChat(state, chatId);
    case "chat.member_updated": {
      const userId = num(data.user_id);
      return chatId === null || userId === null ? state : memberUpdated(state, chatId, userId, String(data.role ?? "member"));
    }
    case "user.updated": {
      // The copy without a chat is one's own card (the session store keeps it).
      const user = data.user as UserPublic | undefined;
      return user && event.chat_id != null ? userUpdated(state, event.chat_id, user) : state;
    }
    case "notice.welcome":
      if (state.notices.some((n) => n.id === event.id)) return state;
      return { ...state, notices: [...state.notices, { id: event.id, text: String(data.text ?? ""), orgName: typeof data.org_name === "string" ? data.org_name : null }] };
    default:
      return state; // types we do not show
  }
}

/**
 * Apply events again after a refetch whose snapshot may predate them. Message parts
 * are idempotent (replace by id, unread counted only past the last message).
 */
export function replayEvents(state: ChatState, events: ServerEvent[]): ChatState {
  return events.reduce((current, event) => ({ ...applyType(current, event), position: current.position }), state);
}

/** Apply one event; events at or before the position were applied already (dedup). */
export function applyEvent(state: ChatState, event: ServerEvent): ChatState {
  if (state.position !== null && event.id <= state.position) return state;
  return { ...applyType(state, event), position: event.id };
}

export function applyEvents(state: ChatState, events: ServerEvent[]): ChatState {
  return events.reduce(applyEvent, state);
}
