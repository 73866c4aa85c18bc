// The chats area: the list and the open chat side by side on wide screens, one of
// them on phones (the chat has a back button). Part of the first bundle, so the chat
// itself (ChatView) is a lazy chunk.
import "../../net/ws"; // the live connection registers itself for start-up
import { lazy, useRoute } from "preact-iso";
import { t } from "../../i18n";
import { ChatList } from "./ChatList";
import "./chats.css";

const ChatView = lazy(() => import("./ChatView"));

export default function ChatsScreen() {
  const { params } = useRoute();
  const chatId = params.chatId ? Number(params.chatId) : null;
  const open = chatId !== null && Number.isFinite(chatId);
  return (
    <div class={`chats ${open ? "chats--open" : ""}`}>
      <section class="chats__list" aria-label={t("chats.list")}>
        <ChatList activeId={open ? chatId : null} />
      </section>
      <section class="chats__view" aria-label={t("chats.view")}>
        {open ? <ChatView key={chatId} chatId={chatId} /> : <p class="empty chats__pick">{t("chats.pick")}</p>}
      </section>
    </div>
  );
}
