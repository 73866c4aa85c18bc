import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../../api/client";
import type { Chat, ChatList, Message } from "../../../api/types";
import { t } from "../../../i18n";
import { useMe } from "../../../store/session";
import { Dialog, ErrorText, Spinner } from "../../../ui";
import { BlockToggle, ReportDialog } from "../../safety";
import { reactionSet } from "./data";
import type { MessageMenuProps } from "./index";
import { toggleReaction } from "./ReactionBar";
import { canDeleteMessage, canEditMessage, canPin } from "./rights";
import { ConfirmDialog, messagePreview } from "./shared";

type View = "menu" | "forward" | "delete" | "report";

/** An id for one send, reused on retries (crypto.randomUUID needs a secure context). */
export function newClientMsgId(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Plain-http school servers have no clipboard API: the old way still works there.
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

function ForwardDialog({ chat, message, onClose }: { chat: Chat; message: Message; onClose: () => void }) {
  const [chats, setChats] = useState<Chat[] | null>(null);
  const [filter, setFilter] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<number | null>(null);
  // One id per target, so a retried forward is stored once.
  const ids = useRef(new Map<number, string>());
  useEffect(() => {
    api<ChatList>("GET", "/chats").then((list) => setChats(list.chats.filter((item) => !item.is_archived)), setError);
  }, []);
  const send = async (target: Chat) => {
    const clientMsgId = ids.current.get(target.id) ?? newClientMsgId();
    ids.current.set(target.id, clientMsgId);
    setBusy(target.id);
    setError(null);
    try {
      await api<Message>("POST", `/chats/${target.id}/messages`, {
        client_msg_id: clientMsgId,
        forward_from: { chat_id: chat.id, message_id: message.id },
      });
      onClose();
    } catch (err) {
      setError(err);
      setBusy(null);
    }
  };
  const needle = filter.trim().toLocaleLowerCase();
  const shown = (chats ?? []).filter((item) => item.title.toLocaleLowerCase().includes(needle));
  return (
    <Dialog title={t("chatx.forward.title")} onClose={onClose}>
      <p class="muted chatx-quote">{messagePreview(message)}</p>
      <div class="field">
        <label for="chatx-forward-filter">{t("chatx.forward.search")}</label>
        <input id="chatx-forward-filter" type="search" value={filter} onInput={(event) => setFilter(event.currentTarget.value)} />
      </div>
      <ErrorText error={error} />
      {chats === null && !error && <Spinner />}
      <ul class="chatx-plain chatx-pick">
        {shown.map((item) => (
          <li key={item.id}>
            <button type="button" class="chatx-pick__item" disabled={busy !== null} aria-busy={busy === item.id} onClick={() => send(item)}>
              {item.title}
            </button>
          </li>
        ))}
      </ul>
      {chats !== null && shown.length === 0 && <p class="empty">{t("chatx.forward.none")}</p>}
    </Dialog>
  );
}

function Reactions({ chat, message, onDone }: { chat: Chat; message: Message; onDone: () => void }) {
  const me = useMe();
  const [set, setSet] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    reactionSet(chat.id).then(setSet, setError);
  }, [chat.id]);
  const react = async (emoji: string) => {
    const mine = me !== null && (message.reactions?.[emoji] ?? []).includes(me.id);
    try {
      await toggleReaction(chat.id, message, emoji, mine);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="chatx-menu__reactions" role="group" aria-label={t("chatx.menu.react")}>
      {set.map((emoji) => {
        const mine = me !== null && (message.reactions?.[emoji] ?? []).includes(me.id);
        return (
          <button
            key={emoji}
            type="button"
            class={`chatx-reaction ${mine ? "chatx-reaction--mine" : ""}`}
            aria-pressed={mine}
            aria-label={t("chatx.menu.reactWith", { emoji })}
            onClick={() => react(emoji)}
          >
            {emoji}
          </button>
        );
      })}
      <ErrorText error={error} />
    </div>
  );
}

/** Moves focus along the menu with the arrow keys (Tab works too). */
function arrowKeys(event: KeyboardEvent): void {
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
  const list = event.currentTarget as HTMLElement;
  const items = [...list.querySelectorAll<HTMLButtonElement>("button:not(:disabled)")];
  const index = items.indexOf(document.activeElement as HTMLButtonElement);
  const next = items[(index + (event.key === "ArrowDown" ? 1 : -1) + items.length) % items.length];
  next?.focus();
  event.preventDefault();
}

/** Reply, forward, edit, delete, react, pin, copy, report, block: a popup for one message. */
export function MessageMenu({ chat, message, onReply, onEdit, onClose }: MessageMenuProps) {
  const me = useMe();
  const meId = me?.id ?? null;
  const [view, setView] = useState<View>("menu");
  const [error, setError] = useState<unknown>(null);
  // Focus goes back to what opened the menu (the message's button).
  const opener = useRef<Element | null>(document.activeElement);
  useEffect(() => () => (opener.current as HTMLElement | null)?.focus?.(), []);

  const act = (run: () => Promise<unknown> | void) => async () => {
    setError(null);
    try {
      await run();
      onClose();
    } catch (err) {
      setError(err);
    }
  };
  const base = `/chats/${chat.id}/messages/${message.id}`;
  if (view === "forward") return <ForwardDialog chat={chat} message={message} onClose={onClose} />;
  if (view === "report") return <ReportDialog messageId={message.id} onClose={onClose} />;
  if (view === "delete")
    return (
      <ConfirmDialog
        title={t("chatx.delete.title")}
        text={t("chatx.delete.text")}
        confirmLabel={t("common.delete")}
        onConfirm={async () => {
          await api("DELETE", base);
          onClose();
        }}
        onClose={onClose}
      />
    );
  const isOwn = message.sender_id === meId;
  const live = !message.is_deleted && !chat.is_archived;
  return (
    <Dialog title={t("chatx.menu.title")} onClose={onClose}>
      <p class="muted chatx-quote">{messagePreview(message)}</p>
      {live && <Reactions chat={chat} message={message} onDone={onClose} />}
      <ErrorText error={error} />
      <div class="chatx-menu" role="menu" aria-label={t("chatx.menu.title")} onKeyDown={arrowKeys}>
        {live && <MenuItem label={t("chatx.menu.reply")} icon="↩" onClick={act(() => onReply(message))} />}
        {!message.is_deleted && <MenuItem label={t("chatx.menu.forward")} icon="↪" onClick={() => setView("forward")} />}
        {live && canEditMessage(message, meId) && <MenuItem label={t("chatx.menu.edit")} icon="✎" onClick={act(() => onEdit(message))} />}
        {message.text && !message.is_deleted && <MenuItem label={t("chatx.menu.copy")} icon="⧉" onClick={act(() => copyText(message.text ?? ""))} />}
        {live && canPin(chat) && (
          <MenuItem
            label={t(message.is_pinned ? "chatx.menu.unpin" : "chatx.menu.pin")}
            icon="📌"
            onClick={act(() => api(message.is_pinned ? "DELETE" : "POST", `${base}/pin`))}
          />
        )}
        {canDeleteMessage(chat, message, meId) && <MenuItem label={t("chatx.menu.delete")} icon="🗑" danger onClick={() => setView("delete")} />}
        {!isOwn && !message.is_deleted && <MenuItem label={t("chatx.menu.report")} icon="⚑" onClick={() => setView("report")} />}
      </div>
      {!isOwn && message.sender_id && (
        <div class="chatx-menu__block">
          <BlockToggle userId={message.sender_id} />
        </div>
      )}
    </Dialog>
  );
}

function MenuItem({ label, icon, danger, onClick }: { label: string; icon: string; danger?: boolean; onClick: () => void }) {
  return (
    <button type="button" role="menuitem" class={`chatx-menu__item ${danger ? "chatx-menu__item--danger" : ""}`} onClick={onClick}>
      <span aria-hidden="true" class="chatx-menu__icon">
        {icon}
      </span>
      {label}
    </button>
  );
}
