// Extension points of the chat screen, built by the "chat extras" work. The chat core
// (ChatView, MessageList, Composer) renders these; their props are the contract.
// Keep the signatures; add optional props only.
import type { Chat, Message } from "../../../api/types";

export type MessageMenuProps = {
  chat: Chat;
  message: Message;
  /** The message the composer should reply to. */
  onReply: (message: Message) => void;
  /** Put the message's text into the composer for editing. */
  onEdit: (message: Message) => void;
  onClose: () => void;
};

/** Reply, forward, edit, delete, react, pin, copy, report, block: a popup for one message. */
export function MessageMenu(_props: MessageMenuProps) {
  return null;
}

/** Reactions under a message (counts, own highlighted, click toggles). */
export function ReactionBar(_props: { chat: Chat; message: Message }) {
  return null;
}

/** The attachment of a message: image preview (thumbnail, click opens) or a file card. */
export function Attachment(_props: { message: Message }) {
  return null;
}

/** "✓✓ прочитали 3 из 12" under own messages (click: who read). */
export function ReadReceipt(_props: { chat: Chat; message: Message }) {
  return null;
}

/** The pinned messages bar at the top of a chat. */
export function PinnedBar(_props: { chat: Chat; onJump: (messageId: number) => void }) {
  return null;
}

/** "Мария печатает…" from typing events of this chat. */
export function TypingIndicator(_props: { chatId: number }) {
  return null;
}

export type PickedFile = { fileId: number; name: string; mimeType: string };

/**
 * The paperclip: picks a file, uploads it to the chat with a progress bar, and
 * hands the stored file to the composer (which sends it with the message).
 */
export function AttachButton(_props: { chatId: number; onUploaded: (file: PickedFile) => void; disabled?: boolean }) {
  return null;
}

/** @mention suggestions for the composer's current word; picking inserts the name. */
export function MentionPicker(_props: {
  chatId: number;
  query: string | null;
  onPick: (user: { id: number; name: string }) => void;
}) {
  return null;
}

/** New direct chat (find by phone), new group, new channel. */
export function NewChatDialog(_props: { onClose: () => void; onCreated: (chatId: number) => void }) {
  return null;
}

/** Chat info side panel: members with teacher badges, invite links, leave, settings. */
export function ChatInfo(_props: { chat: Chat; onClose: () => void }) {
  return null;
}
