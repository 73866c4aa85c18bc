// The page an invite link opens (/join/:token): what the chat is, and a button to join.
import { useEffect, useState } from "preact/hooks";
import { useLocation, useRoute } from "preact-iso";
import { ApiError, api } from "../../api/client";
import type { Chat, ChatInvitePreview } from "../../api/types";
import { plural, t } from "../../i18n";
import { Avatar, Button, ErrorText, Spinner } from "../../ui";
import "./extras/extras.css";

const LINK_ERRORS = {
  invite_expired: "chatx.join.expired",
  invite_exhausted: "chatx.join.exhausted",
  invite_not_found: "chatx.join.notFound",
} as const;

/** The link's own troubles read as a plain sentence; anything else shows the server's text. */
function LinkProblem({ error }: { error: unknown }) {
  const key = error instanceof ApiError ? LINK_ERRORS[error.code as keyof typeof LINK_ERRORS] : undefined;
  if (!key) return <ErrorText error={error} />;
  return (
    <div class="card chatx-join" role="alert">
      <h1>{t("chatx.join.problem")}</h1>
      <p>{t(key)}</p>
      <a href="/">{t("chatx.join.toChats")}</a>
    </div>
  );
}

export default function JoinChat() {
  const { params } = useRoute();
  const { route } = useLocation();
  const token = params.token ?? "";
  const [preview, setPreview] = useState<ChatInvitePreview | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [joinError, setJoinError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setPreview(null);
    setLoadError(null);
    api<ChatInvitePreview>("GET", `/invites/${encodeURIComponent(token)}`).then(setPreview, setLoadError);
  }, [token]);
  const join = async () => {
    setBusy(true);
    setJoinError(null);
    try {
      const chat = await api<Chat>("POST", `/invites/${encodeURIComponent(token)}/join`);
      route(`/chats/${chat.id}`);
    } catch (err) {
      setJoinError(err);
      setBusy(false);
    }
  };
  if (loadError) {
    return (
      <div class="page page--narrow">
        <LinkProblem error={loadError} />
      </div>
    );
  }
  if (!preview) return <Spinner />;
  const chat = preview.chat;
  return (
    <div class="page page--narrow">
      <div class="card chatx-join">
        <Avatar name={chat.title} fileId={chat.avatar_file_id} size={72} />
        <h1>{chat.title}</h1>
        <p class="muted">
          {t(chat.kind === "channel" ? "chatx.kind.channel" : "chatx.kind.group")} · {chat.member_count}{" "}
          {plural(chat.member_count, chat.kind === "channel" ? "chatx.join.subscribers" : "chatx.members.count")}
        </p>
        {chat.description && <p class="chatx-join__description">{chat.description}</p>}
        {preview.is_member ? (
          <Button variant="primary" onClick={() => route(`/chats/${chat.id}`)}>
            {t("chatx.join.open")}
          </Button>
        ) : (
          <Button variant="primary" busy={busy} onClick={join}>
            {t(chat.kind === "channel" ? "chatx.join.subscribe" : "chatx.join.join")}
          </Button>
        )}
        {joinError instanceof ApiError && joinError.code in LINK_ERRORS ? <LinkProblem error={joinError} /> : <ErrorText error={joinError} />}
      </div>
    </div>
  );
}
