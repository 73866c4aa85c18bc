// One open chat: header (title, members, info, pinned bar), the windowed message list
// and the composer (or the read-only / archived notice). Loads the newest page and the
// members on open, pages older history while scrolling up, marks read what is seen.
import { useLocation } from "preact-iso";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError } from "../../api/client";
import type { Chat, Message } from "../../api/types";
import { plural, t } from "../../i18n";
import { chatState, loadMembers, loadNewest, loadOlder, markRead, refreshChat, useChatStore } from "../../store/chats";
import type { Member } from "../../store/reducer";
import { useOutbox } from "../../store/outbox";
import { Avatar, ErrorText, Spinner } from "../../ui";
import { Composer } from "./Composer";
import { ChatInfo, PinnedBar } from "./extras";
import { MessageBubble, PendingBubble } from "./MessageBubble";
import { MessageList, buildRows, type Row } from "./MessageList";

/** How many older pages a jump to an old message may load. */
const JUMP_PAGES = 40;

function isArchived(chat: Chat): boolean {
  return Boolean(chat.archived_at || chat.is_archived);
}

function canPost(chat: Chat): boolean {
  return chat.kind !== "channel" || chat.role === "owner" || chat.role === "admin";
}

function Header({ chat, onJump }: { chat: Chat; onJump: (id: number) => void }) {
  const [info, setInfo] = useState(false);
  return (
    <header class="chat-view__header">
      <div class="chat-view__bar">
        <a href="/" class="icon-btn chat-view__back" aria-label={t("common.back")}>
          ←
        </a>
        <Avatar name={chat.title || "?"} fileId={chat.avatar_file_id ?? chat.peer?.avatar_file_id} size={36} />
        <div class="chat-view__title">
          <h2>{chat.title || t("chats.untitled")}</h2>
          {chat.kind !== "direct" && <span class="muted">{plural(chat.member_count, "chats.members")}</span>}
        </div>
        <button type="button" class="icon-btn" aria-label={t("chats.info")} aria-haspopup="dialog" onClick={() => setInfo(true)}>
          <span aria-hidden="true">ℹ️</span>
        </button>
      </div>
      <PinnedBar chat={chat} onJump={onJump} />
      {info && <ChatInfo chat={chat} onClose={() => setInfo(false)} />}
    </header>
  );
}

function Footer({ chat, reply, editing, onDone }: { chat: Chat; reply: Message | null; editing: Message | null; onDone: () => void }) {
  if (isArchived(chat)) {
    return (
      <div class="chat-view__notice" role="status">
        <p>{t("chats.archived")}</p>
        {chat.successor_chat_id && <a href={`/chats/${chat.successor_chat_id}`}>{t("chats.archived_successor")}</a>}
      </div>
    );
  }
  if (!canPost(chat)) {
    return (
      <div class="chat-view__notice" role="status">
        {t("chats.read_only")}
      </div>
    );
  }
  return <Composer key={chat.id} chat={chat} reply={reply} editing={editing} onDone={onDone} />;
}

function useReadMarker(chat: Chat | undefined) {
  const newest = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const flush = useCallback(() => {
    if (!chat || document.visibilityState !== "visible") return;
    if (newest.current > chat.last_read_message_id) void markRead(chat.id, newest.current);
  }, [chat]);
  useEffect(() => {
    document.addEventListener("visibilitychange", flush);
    return () => {
      document.removeEventListener("visibilitychange", flush);
      if (timer.current) clearTimeout(timer.current);
    };
  }, [flush]);
  return useCallback(
    (messageId: number) => {
      newest.current = Math.max(newest.current, messageId);
      if (timer.current) clearTimeout(timer.current);
      // A short pause, so scrolling fast through history does not post every row.
      timer.current = setTimeout(flush, 300);
    },
    [flush],
  );
}

export default function ChatView({ chatId }: { chatId: number }) {
  const chat = useChatStore(useCallback((state) => state.chats[chatId], [chatId]));
  const loaded = useChatStore(useCallback((state) => state.windows[chatId], [chatId]));
  const members = useChatStore(useCallback((state) => state.members[chatId], [chatId]));
  const me = useChatStore((state) => state.me);
  const synced = useChatStore((state) => state.position !== null);
  const pending = useOutbox(chatId);
  const { query } = useLocation();
  const [error, setError] = useState<unknown>(null);
  const [reply, setReply] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [focus, setFocus] = useState<string | null>(null);
  const onNewestVisible = useReadMarker(chat);

  useEffect(() => {
    if (!chat && synced) void refreshChat(chatId).catch(setError);
  }, [chatId, Boolean(chat), synced]);
  useEffect(() => {
    if (!chat) return;
    // Reload when the window is missing (first open, after a reset) and once per open.
    loadNewest(chatId).catch((err: unknown) => !loaded && setError(err));
    loadMembers(chatId).catch(() => undefined);
  }, [chatId, Boolean(chat), Boolean(loaded)]);

  const byId = useMemo(() => new Map<number, Member>((members ?? []).map((member) => [member.id, member])), [members]);
  const rows = useMemo(() => buildRows(loaded?.messages ?? [], pending), [loaded, pending]);
  const messageById = useMemo(() => new Map((loaded?.messages ?? []).map((message) => [message.id, message])), [window]);

  const jump = useCallback(
    async (messageId: number) => {
      for (let page = 0; page < JUMP_PAGES; page++) {
        if (chatState().windows[chatId]?.messages.some((message) => message.id === messageId)) break;
        if (!(await loadOlder(chatId).catch(() => false))) break;
      }
      setFocus(`m${messageId}`);
      setTimeout(() => setFocus(null), 2000);
    },
    [chatId],
  );

  const target = Number(query.message);
  useEffect(() => {
    if (loaded && target) void jump(target);
  }, [Boolean(loaded), target]);

  const renderRow = (row: Row) => {
    if (row.kind === "day") return <div class="day-sep" role="separator"><span>{row.label}</span></div>;
    if (row.kind === "pending") return <PendingBubble item={row.item} />;
    const message = row.message;
    const replied = message.reply_to ? { message: messageById.get(message.reply_to), sender: byId.get(messageById.get(message.reply_to)?.sender_id ?? -1) } : null;
    return (
      <MessageBubble
        chat={chat as Chat}
        message={message}
        own={message.sender_id === me}
        continued={row.continued}
        sender={message.sender_id ? byId.get(message.sender_id) : undefined}
        replied={replied}
        onReply={(value) => (setEditing(null), setReply(value))}
        onEdit={(value) => (setReply(null), setEditing(value))}
        onJump={(id) => void jump(id)}
      />
    );
  };

  if (!chat) {
    if (error instanceof ApiError && error.status === 404) return <p class="empty">{t("chats.not_found")}</p>;
    return error ? <ErrorText error={error} /> : <Spinner />;
  }
  return (
    <div class="chat-view">
      <Header chat={chat} onJump={(id) => void jump(id)} />
      {loaded ? (
        <MessageList
          rows={rows}
          hasOlder={loaded.hasOlder}
          loadOlder={() => loadOlder(chatId)}
          renderRow={renderRow}
          onNewestVisible={onNewestVisible}
          focusKey={focus}
          label={t("chats.messages_of", { title: chat.title })}
        />
      ) : error ? (
        <ErrorText error={error} />
      ) : (
        <Spinner />
      )}
      <Footer
        chat={chat}
        reply={reply}
        editing={editing}
        onDone={() => {
          setReply(null);
          setEditing(null);
        }}
      />
    </div>
  );
}
