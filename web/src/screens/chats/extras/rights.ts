// What the interface offers to whom. Hints only, mirroring parta/policy.py so that
// people are not shown buttons that would be refused; the server still decides.
import type { Chat, Message } from "../../../api/types";

const MANAGERS = new Set(["owner", "admin"]);

export function isManager(chat: Chat): boolean {
  return MANAGERS.has(chat.role);
}

/** Class, parents' and group chats follow the organization: no hand-made membership. */
export function isManaged(chat: Chat): boolean {
  return Boolean(chat.purpose);
}

export function canEditMessage(message: Message, meId: number | null): boolean {
  return !message.is_deleted && !message.is_forwarded && message.sender_id === meId && Boolean(message.text);
}

export function canDeleteMessage(chat: Chat, message: Message, meId: number | null): boolean {
  if (message.is_deleted) return false;
  if (message.sender_id === meId) return true;
  return chat.kind !== "direct" && isManager(chat);
}

export function canPin(chat: Chat): boolean {
  return chat.kind === "direct" || isManager(chat);
}

export function canEditChat(chat: Chat): boolean {
  return chat.kind !== "direct" && isManager(chat);
}

export function canAddMembers(chat: Chat): boolean {
  return chat.kind !== "direct" && isManager(chat) && !isManaged(chat);
}

export function canManageInvites(chat: Chat): boolean {
  return chat.kind !== "direct" && isManager(chat) && !isManaged(chat);
}

export function canRemoveMember(chat: Chat, targetRole: string): boolean {
  if (chat.kind === "direct" || isManaged(chat)) return false;
  if (chat.role === "owner") return targetRole !== "owner";
  return chat.role === "admin" && targetRole === "member";
}

export function canSetRole(chat: Chat, targetRole: string): boolean {
  return chat.kind !== "direct" && chat.role === "owner" && targetRole !== "owner";
}

export function canLeave(chat: Chat): boolean {
  return chat.kind !== "direct" && !isManaged(chat) && chat.role !== "owner";
}
