import { useEffect, useRef, useState } from "preact/hooks";
import type { Chat, ChatMember, Message } from "../../../api/types";
import { t } from "../../../i18n";
import { useMe } from "../../../store/session";
import { chatMembers, knownReaders, startExtrasFeed } from "./data";
import { fullName, receipt } from "./logic";
import { liveReadBy, watchReceipt } from "./receipts";

/**
 * Who read the message. The API gives only the count (`read_by`), so the names are
 * those seen reading in live `chat.read` events; the rest is "и ещё N".
 */
function Readers({ chat, message, readBy, onClose }: { chat: Chat; message: Message; readBy: number; onClose: () => void }) {
  const [members, setMembers] = useState<ChatMember[] | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    chatMembers(chat.id).then(setMembers, () => setMembers([]));
    ref.current?.focus();
  }, [chat.id]);
  const ids = new Set(knownReaders(chat.id, message.id).filter((id) => id !== message.sender_id));
  const names = (members ?? []).filter((member) => ids.has(member.id)).map((member) => fullName(member));
  const rest = Math.max(readBy - names.length, 0);
  return (
    <div
      ref={ref}
      class="chatx-popover"
      role="dialog"
      aria-label={t("chatx.read.who")}
      tabIndex={-1}
      onKeyDown={(event) => event.key === "Escape" && onClose()}
    >
      <strong>{t("chatx.read.who")}</strong>
      {names.length > 0 && (
        <ul class="chatx-plain">
          {names.map((name) => (
            <li key={name}>{name}</li>
          ))}
        </ul>
      )}
      {rest > 0 && <p class="muted">{names.length ? t("chatx.read.andMore", { n: rest }) : t("chatx.read.count", { n: rest })}</p>}
    </div>
  );
}

/** "✓✓ прочитали 3 из 12" under own messages (click: who read). */
export function ReadReceipt({ chat, message }: { chat: Chat; message: Message }) {
  const me = useMe();
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const [, setTick] = useState(0);
  const own = me !== null && message.sender_id === me.id && !message.is_deleted;
  useEffect(() => {
    if (!own) return;
    startExtrasFeed(); // names for "who read" come from read events seen from now on
    return watchReceipt(chat.id, message.id, () => setTick((value) => value + 1));
  }, [own, chat.id, message.id]);
  if (!own) return null;
  // Counts only grow: the fetched one may be newer than the props, or older.
  const readBy = Math.max(message.read_by ?? 0, liveReadBy(message.id) ?? 0);
  const info = receipt(readBy, chat.member_count, chat.kind === "direct");
  const canList = readBy > 0 && chat.kind !== "direct";
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const body = (
    <>
      <span class={`chatx-receipt__mark ${readBy > 0 ? "chatx-receipt__mark--read" : ""}`} aria-hidden="true">
        {info.mark}
      </span>
      <span class={chat.kind === "direct" ? "visually-hidden" : "chatx-receipt__text"}>{info.text}</span>
    </>
  );
  return (
    <span class="chatx-receipt">
      {canList ? (
        <button ref={button} type="button" class="chatx-receipt__btn" aria-expanded={open} onClick={() => (open ? close() : setOpen(true))}>
          {body}
        </button>
      ) : (
        <span class="chatx-receipt__btn">{body}</span>
      )}
      {open && <Readers chat={chat} message={message} readBy={readBy} onClose={close} />}
    </span>
  );
}
