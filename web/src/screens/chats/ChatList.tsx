// The chat list: chats by last activity with unread badges and last-message previews,
// a title filter, message search, the welcome card and the "new chat" button. Reads
// the store (the offline copy first, then fresh data and live events).
import { lazy, useLocation } from "preact-iso";
import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Chat, Message, MessagePage } from "../../api/types";
import { plural, t } from "../../i18n";
import { Avatar, Empty, ErrorText, Spinner } from "../../ui";
import { dismissNotice, useChatStore } from "../../store/chats";
import { sortedChats, type ChatState } from "../../store/reducer";
import { currentMe } from "../../store/session";
import { formatListTime, previewText } from "./format";

// Extras stay out of the first bundle: the dialog loads when first opened.
const NewChatDialog = lazy(() => import("./extras").then((module) => module.NewChatDialog));

const selectChats = (state: ChatState) => state.chats;
const selectNotices = (state: ChatState) => state.notices;
const selectSynced = (state: ChatState) => state.position !== null;

function senderPrefix(chat: Chat): string {
  const message = chat.last_message;
  if (!message || chat.kind === "direct" || message.is_deleted) return "";
  if (message.sender_id === currentMe()?.id) return `${t("chats.you")}: `;
  return "";
}

function ChatRow({ chat, active }: { chat: Chat; active: boolean }) {
  const time = chat.last_message?.created_at ?? chat.last_activity_at;
  const unread = chat.unread_count;
  return (
    <li>
      <a href={`/chats/${chat.id}`} class={`chat-row ${active ? "chat-row--active" : ""}`} aria-current={active ? "page" : undefined}>
        <Avatar name={chat.title || "?"} fileId={chat.avatar_file_id ?? chat.peer?.avatar_file_id} size={44} />
        <span class="chat-row__main">
          <span class="chat-row__top">
            <span class="chat-row__title">
              {chat.kind === "channel" && <span aria-hidden="true">📢 </span>}
              {chat.title || t("chats.untitled")}
            </span>
            <time class="chat-row__time" dateTime={time}>
              {formatListTime(time)}
            </time>
          </span>
          <span class="chat-row__bottom">
            <span class="chat-row__preview">
              {senderPrefix(chat)}
              {previewText(chat.last_message) || <span class="muted">{t("chats.no_messages")}</span>}
            </span>
            {unread > 0 && (
              <span class="chat-row__unread" aria-label={plural(unread, "chats.unread")}>
                {unread > 999 ? "999+" : unread}
              </span>
            )}
          </span>
        </span>
      </a>
    </li>
  );
}

function WelcomeCards() {
  const notices = useChatStore(selectNotices);
  if (!notices.length) return null;
  return (
    <div aria-live="polite">
      {notices.map((notice) => (
        <div class="card welcome" key={notice.id}>
          <h2>{notice.orgName ? t("chats.welcome_org", { org: notice.orgName }) : t("chats.welcome")}</h2>
          <p>{notice.text}</p>
          <button type="button" class="btn btn--secondary" onClick={() => dismissNotice(notice.id)}>
            {t("chats.welcome_ok")}
          </button>
        </div>
      ))}
    </div>
  );
}

function useSearch(query: string): { results: Message[] | null; error: unknown; busy: boolean } {
  const [results, setResults] = useState<Message[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const q = query.trim();
    setResults(null);
    setError(null);
    if (q.length < 2) return;
    const controller = new AbortController();
    // Wait for a pause in typing before asking the server.
    const timer = setTimeout(() => {
      setBusy(true);
      api<MessagePage>("GET", "/search", undefined, { query: { q, limit: 20 }, signal: controller.signal })
        .then((page) => setResults(page.messages))
        .catch((err: unknown) => {
          if (!(err instanceof DOMException)) setError(err);
        })
        .finally(() => setBusy(false));
    }, 350);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [query]);
  return { results, error, busy };
}

function SearchResults({ query, chats }: { query: string; chats: Record<number, Chat> }) {
  const { results, error, busy } = useSearch(query);
  if (query.trim().length < 2) return null;
  return (
    <div class="search-results" aria-live="polite">
      <h2 class="chat-list__heading">{t("chats.search_results")}</h2>
      <ErrorText error={error} />
      {busy && <Spinner />}
      {results && !results.length && <p class="muted chat-list__note">{t("chats.search_none")}</p>}
      {results && results.length > 0 && (
        <ul class="chat-list__items">
          {results.map((message) => (
            <li key={message.id}>
              <a class="chat-row" href={`/chats/${message.chat_id}?message=${message.id}`}>
                <span class="chat-row__main">
                  <span class="chat-row__top">
                    <span class="chat-row__title">{chats[message.chat_id]?.title ?? t("chats.untitled")}</span>
                    <time class="chat-row__time" dateTime={message.created_at}>
                      {formatListTime(message.created_at)}
                    </time>
                  </span>
                  <span class="chat-row__preview">{previewText(message)}</span>
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ChatList({ activeId }: { activeId: number | null }) {
  const chats = useChatStore(selectChats);
  const synced = useChatStore(selectSynced);
  const [filter, setFilter] = useState("");
  const [creating, setCreating] = useState(false);
  const { route } = useLocation();
  const sorted = useMemo(() => sortedChats({ chats } as ChatState), [chats]);
  const needle = filter.trim().toLocaleLowerCase();
  const shown = needle ? sorted.filter((chat) => chat.title.toLocaleLowerCase().includes(needle)) : sorted;
  return (
    <div class="chat-list">
      <header class="chat-list__header">
        <h1>{t("chats.title")}</h1>
        <button type="button" class="icon-btn" aria-label={t("chats.new")} title={t("chats.new")} onClick={() => setCreating(true)}>
          ✎
        </button>
      </header>
      <div class="chat-list__filter">
        <label class="visually-hidden" for="chat-filter">
          {t("chats.filter")}
        </label>
        <input id="chat-filter" type="search" placeholder={t("chats.filter_placeholder")} value={filter} onInput={(event) => setFilter(event.currentTarget.value)} />
      </div>
      <WelcomeCards />
      {!synced && !sorted.length ? (
        <Spinner />
      ) : shown.length ? (
        <ul class="chat-list__items">
          {shown.map((chat) => (
            <ChatRow key={chat.id} chat={chat} active={chat.id === activeId} />
          ))}
        </ul>
      ) : (
        <Empty>{needle ? t("chats.filter_none") : t("chats.empty")}</Empty>
      )}
      <SearchResults query={filter} chats={chats} />
      {creating && (
        <NewChatDialog
          onClose={() => setCreating(false)}
          onCreated={(chatId: number) => {
            setCreating(false);
            route(`/chats/${chatId}`);
          }}
        />
      )}
    </div>
  );
}
