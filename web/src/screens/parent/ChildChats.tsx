// The chats a child is in: kind, title, members, last activity. Never contents.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Schemas } from "../../api/client";
import { locale, plural, t, type TextKey } from "../../i18n";
import { Button, Empty, ErrorText, Spinner } from "../../ui";
import { personName } from "../safety/names";

type ChildChat = Schemas["ChildChatOut"];

const KINDS: Record<string, TextKey> = {
  direct: "parent.chats.kind_direct",
  group: "parent.chats.kind_group",
  channel: "parent.chats.kind_channel",
};
const PURPOSES: Record<string, TextKey> = {
  class: "parent.chats.purpose_class",
  parents: "parent.chats.purpose_parents",
  group: "parent.chats.purpose_group",
};

function kindText(chat: ChildChat): string {
  const key = (chat.purpose && PURPOSES[chat.purpose]) || KINDS[chat.kind];
  return key ? t(key) : chat.kind;
}

function ChatRow({ chat }: { chat: ChildChat }) {
  const title = chat.kind === "direct" && chat.peer ? personName(chat.peer) : chat.title;
  const when = new Date(chat.last_activity_at).toLocaleDateString(locale(), { day: "numeric", month: "short", year: "numeric" });
  return (
    <li class="parent__chat">
      <strong>{title}</strong>
      <span class="muted">
        {kindText(chat)} · {plural(chat.member_count, "parent.chats.members")} · {t("parent.chats.active", { when })}
        {chat.is_archived ? ` · ${t("parent.chats.archived")}` : ""}
      </span>
    </li>
  );
}

export function ChildChats({ childId }: { childId: number }) {
  const [chats, setChats] = useState<ChildChat[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);

  async function load(cursor: string | null) {
    setLoading(true);
    setError(null);
    try {
      const page = await api<Schemas["ChildChatList"]>("GET", `/children/${childId}/chats`, undefined, { query: { cursor, limit: 50 } });
      setChats((old) => (cursor === null ? page.chats : [...old, ...page.chats]));
      setNext(page.next_cursor ?? null);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    void load(null);
  }, [childId]);

  return (
    <section class="card stack" aria-labelledby="chats-title">
      <h2 id="chats-title">{t("parent.chats.title")}</h2>
      <p class="muted">{t("parent.chats.intro")}</p>
      {chats.length === 0 && !loading && !error && <Empty>{t("parent.chats.empty")}</Empty>}
      {chats.length > 0 && (
        <ul class="parent__chats">
          {chats.map((chat) => (
            <ChatRow key={chat.id} chat={chat} />
          ))}
        </ul>
      )}
      <ErrorText error={error} />
      {loading && <Spinner />}
      {!loading && next !== null && <Button onClick={() => void load(next)}>{t("parent.chats.more")}</Button>}
    </section>
  );
}
