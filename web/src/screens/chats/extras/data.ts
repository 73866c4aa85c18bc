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
