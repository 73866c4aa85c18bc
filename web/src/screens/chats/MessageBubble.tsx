// One message: sender (with the teacher badge), forwarded mark, reply quote,
// attachment, text, time, edited mark, reactions and read receipts; a tombstone when
// deleted. Pending and failed sends from the outbox have their own bubble.
import { useState } from "preact/hooks";
import type { Chat, Message } from "../../api/types";
import { t } from "../../i18n";
import type { Member } from "../../store/reducer";
import { outbox, type OutboxItem } from "../../store/outbox";
import { Attachment, MessageMenu, ReactionBar, ReadReceipt } from "./extras";
import { formatClock, personName, previewText } from "./format";

type Props = {
  chat: Chat;
  message: Message;
  own: boolean;
  continued: boolean;
  sender: Member | undefined;
  /** The quoted original (when loaded) and its author. */
  replied: { message: Message | undefined; sender: Member | undefined } | null;
  onReply: (message: Message) => void;
  onEdit: (message: Message) => void;
  onJump: (messageId: number) => void;
};

function SenderLine({ sender, message }: { sender: Member | undefined; message: Message }) {
  return (
    <div class="bubble__sender">
      <a href={message.sender_id ? `/users/${message.sender_id}` : undefined} class="bubble__name">
        {personName(sender)}
      </a>
      {message.sender_badge === "teacher" && <span class="badge bubble__badge">{t("chats.teacher")}</span>}
    </div>
  );
}

function Quote({ replyTo, replied, onJump }: { replyTo: number; replied: NonNullable<Props["replied"]>; onJump: (id: number) => void }) {
  return (
    <button type="button" class="bubble__quote" onClick={() => onJump(replyTo)} aria-label={t("chats.reply_jump")}>
      <span class="bubble__quote-name">{replied.message ? personName(replied.sender) : t("chats.reply")}</span>
      <span class="bubble__quote-text">{replied.message ? previewText(replied.message) : t("chats.reply_unloaded")}</span>
    </button>
  );
}

export function MessageBubble({ chat, message, own, continued, sender, replied, onReply, onEdit, onJump }: Props) {
  const [menu, setMenu] = useState(false);
  const showSender = !own && chat.kind !== "direct" && !continued;
  if (message.is_deleted) {
    return (
      <div class={`bubble-line ${own ? "bubble-line--own" : ""}`}>
        <div class="bubble bubble--deleted">
          <span class="muted">{t("chats.deleted")}</span>
          <time class="bubble__time" dateTime={message.created_at}>
            {formatClock(message.created_at)}
          </time>
        </div>
      </div>
    );
  }
  return (
    <div class={`bubble-line ${own ? "bubble-line--own" : ""}`} onContextMenu={(event) => (event.preventDefault(), setMenu(true))}>
      <div class={`bubble ${own ? "bubble--own" : ""}`}>
        {showSender && <SenderLine sender={sender} message={message} />}
        {message.is_forwarded && <div class="bubble__forwarded">{t("chats.forwarded")}</div>}
        {message.reply_to && replied && <Quote replyTo={message.reply_to} replied={replied} onJump={onJump} />}
        {message.file && <Attachment message={message} />}
        {message.text && <div class="bubble__text">{message.text}</div>}
        <div class="bubble__meta">
          {message.is_edited && <span class="bubble__edited">{t("chats.edited")}</span>}
          <time class="bubble__time" dateTime={message.created_at}>
            {formatClock(message.created_at)}
          </time>
          {own && <ReadReceipt chat={chat} message={message} />}
        </div>
        <ReactionBar chat={chat} message={message} />
      </div>
      <button type="button" class="icon-btn bubble__more" aria-label={t("chats.message_actions")} aria-haspopup="dialog" onClick={() => setMenu(true)}>
        ⋯
      </button>
      {menu && <MessageMenu chat={chat} message={message} onReply={onReply} onEdit={onEdit} onClose={() => setMenu(false)} />}
    </div>
  );
}

/** A message still in the outbox: "sending…", or failed with the server's reason. */
export function PendingBubble({ item }: { item: OutboxItem }) {
  const failed = item.status === "failed";
  return (
    <div class="bubble-line bubble-line--own">
      <div class={`bubble bubble--own bubble--pending ${failed ? "bubble--failed" : ""}`}>
        {item.file_name && <div class="bubble__file">📎 {item.file_name}</div>}
        {item.text && <div class="bubble__text">{item.text}</div>}
        <div class="bubble__meta">
          {failed ? (
            <span class="error" role="alert">
              {item.error?.message || t("error.unknown")}
            </span>
          ) : (
            <span class="bubble__status">
              <span aria-hidden="true">🕓 </span>
              {t("chats.pending")}
            </span>
          )}
        </div>
        {failed && (
          <div class="row bubble__actions">
            <button type="button" class="btn btn--secondary" onClick={() => void outbox.retry(item.client_msg_id)}>
              {t("common.retry")}
            </button>
            <button type="button" class="btn btn--danger" onClick={() => void outbox.discard(item.client_msg_id)}>
              {t("common.delete")}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
