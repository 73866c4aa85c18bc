// Extension points of the chat screen, built by the "chat extras" work. The chat core
// (ChatView, MessageList, Composer) renders these; their props are the contract.
// Keep the signatures; add optional props only.
//
// The small pieces shown in every chat are here directly; the dialogs (menu, new chat,
// chat info) load as separate chunks when first opened, so the chat list stays light.
import type { Chat, Message } from "../../../api/types";
import "./extras.css";
import { deferred } from "./shared";

export type MessageMenuProps = {
  chat: Chat;
  message: Message;
  /** The message the composer should reply to. */
  onReply: (message: Message) => void;
  /** Put the message's text into the composer for editing. */
  onEdit: (message: Message) => void;
  onClose: () => void;
};

export type PickedFile = { fileId: number; name: string; mimeType: string };

export { AttachButton } from "./AttachButton";
export { Attachment } from "./Attachment";
export { MentionPicker } from "./MentionPicker";
export { PinnedBar } from "./PinnedBar";
export { ReactionBar } from "./ReactionBar";
export { ReadReceipt } from "./ReadReceipt";
export { TypingIndicator } from "./TypingIndicator";

/** Reply, forward, edit, delete, react, pin, copy, report, block: a popup for one message. */
export const MessageMenu = deferred<MessageMenuProps>(() => import("./MessageMenu").then((module) => module.MessageMenu));

/** New direct chat (find by phone), new group, new channel. */
export const NewChatDialog = deferred<{ onClose: () => void; onCreated: (chatId: number) => void }>(() =>
  import("./NewChatDialog").then((module) => module.NewChatDialog),
);

/** Chat info side panel: members with teacher badges, invite links, leave, settings. */
export const ChatInfo = deferred<{ chat: Chat; onClose: () => void }>(() => import("./ChatInfo").then((module) => module.ChatInfo));
