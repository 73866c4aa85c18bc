// Small shared caches of the chat extras: a chat's members and reaction set are asked
// for by several components at once (mentions, typing names, read receipts, info), so
// one request serves them all until a membership event makes it stale.
import { api } from "../../../api/client";
import type { ChatMember, ReactionSet } from "../../../api/types";
import { subscribe } from "../../../net/events";

const members = new Map<number, Promise<ChatMember[]>>();
const reactionSets = new Map<number, Promise<string[]>>();
const memberListeners = new Set<(chatId: number) => void>();
// Read pointers seen live in `chat.read` events this session (chat → user → message id).
const readPointers = new Map<number, Map<number, number>>();
let started = false;

function start(): void {
  if (started) return;
  started = true;
  for (const type of ["chat.member_added", "chat.member_removed", "chat.member_updated", "chat.updated"]) {
    subscribe(type, (event) => {
      if (!event.chat_id) return;
      members.delete(event.chat_id);
      memberListeners.forEach((listener) => listener(event.chat_id as number));
    });
  }
  subscribe("user.updated", () => {
    members.clear();
  });
  subscribe("chat.read", (event) => {
    const userId = event.data?.user_id;
    const messageId = event.data?.message_id;
    if (!event.chat_id || typeof userId !== "number" || typeof messageId !== "number") return;
    const pointers = readPointers.get(event.chat_id) ?? new Map<number, number>();
    readPointers.set(event.chat_id, pointers);
    pointers.set(userId, Math.max(pointers.get(userId) ?? 0, messageId));
  });
}

/** The chat's members (cached; refetched after a membership change). */
export function chatMembers(chatId: number): Promise<ChatMember[]> {
  start();
  let request = members.get(chatId);
  if (!request) {
    request = api<{ members: ChatMember[] }>("GET", `/chats/${chatId}/members`).then((body) => body.members);
    request.catch(() => members.delete(chatId));
    members.set(chatId, request);
  }
  return request;
}

export function forgetMembers(chatId: number): void {
  members.delete(chatId);
  memberListeners.forEach((listener) => listener(chatId));
}

/** Called with a chat id whenever its member list may have changed. */
export function onMembersChanged(listener: (chatId: number) => void): () => void {
  start();
  memberListeners.add(listener);
  return () => memberListeners.delete(listener);
}

/** The fixed set of reactions a chat allows. */
export function reactionSet(chatId: number): Promise<string[]> {
  let request = reactionSets.get(chatId);
  if (!request) {
    request = api<ReactionSet>("GET", `/chats/${chatId}/reactions`).then((body) => body.reactions);
    request.catch(() => reactionSets.delete(chatId));
    reactionSets.set(chatId, request);
  }
  return request;
}

/** Members known (from live read events) to have read up to this message. */
export function knownReaders(chatId: number, messageId: number): number[] {
  start();
  const pointers = readPointers.get(chatId);
  if (!pointers) return [];
  return [...pointers.entries()].filter(([, upTo]) => upTo >= messageId).map(([user]) => user);
}

/** Start listening early (read events that arrive before a receipt is opened count). */
export function startExtrasFeed(): void {
  start();
}
