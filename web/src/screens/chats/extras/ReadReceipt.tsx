import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../../api/client";
import type { Chat, Message, UserPublic } from "../../../api/types";
import { t } from "../../../i18n";
import { useMe } from "../../../store/session";
import { ErrorText, Spinner } from "../../../ui";
import { fullName, receipt } from "./logic";
import { liveReadBy, watchReceipt } from "./receipts";

/** Who read the message: the server's list (`GET …/messages/{id}/readers`, author only). */
function Readers({ chat, message, onClose }: { chat: Chat; message: Message; onClose: () => void }) {
  const [readers, setReaders] = useState<UserPublic[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    api<{ readers: UserPublic[] }>("GET", `/chats/${chat.id}/messages/${message.id}/readers`).then(
      (list) => setReaders(list.readers),
      setError,
    );
    ref.current?.focus();
  }, [chat.id, message.id]);
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
      <ErrorText error={error} />
      {readers === null && !error && <Spinner />}
      {readers && (
        <ul class="chatx-plain">
          {readers.map((reader) => (
            <li key={reader.id}>{fullName(reader)}</li>
          ))}
        </ul>
      )}
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
      {open && <Readers chat={chat} message={message} onClose={close} />}
    </span>
  );
}
