// A person's public card (/users/:userId): name as the server shows it to me (a
// masked child stays "a student of <school>"), and what I can do: write, block,
// report. `?report_message=<id>` adds "report this message" (a link target for the
// message menu). /users/me shows my own card with my block list.
import { useEffect, useState } from "preact/hooks";
import { useLocation, useRoute } from "preact-iso";
import { ApiError, api } from "../../api/client";
import type { Chat, UserPublic } from "../../api/types";
import { t } from "../../i18n";
import { Avatar, Button, ErrorText, Spinner } from "../../ui";
import { useMe } from "../../store/session";
import { BlockToggle, BlockedList, ReportDialog } from "../safety";
import { personName } from "../safety/names";
import "./profile.css";

type Loaded = { user: UserPublic } | { error: unknown } | null;

function useUser(userId: number | null): Loaded {
  const [state, setState] = useState<Loaded>(null);
  useEffect(() => {
    if (userId === null) return;
    const controller = new AbortController();
    setState(null);
    api<UserPublic>("GET", `/users/${userId}`, undefined, { signal: controller.signal })
      .then((user) => setState({ user }))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setState({ error });
      });
    return () => controller.abort();
  }, [userId]);
  return state;
}

function WriteButton({ userId }: { userId: number }) {
  const { route } = useLocation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function write() {
    setBusy(true);
    setError(null);
    try {
      const chat = await api<Chat>("POST", "/chats/direct", { user_id: userId });
      route(`/chats/${chat.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <>
      <Button variant="primary" busy={busy} onClick={() => void write()}>
        {t("profile.write")}
      </Button>
      <ErrorText error={error} />
    </>
  );
}

function Actions({ user, reportMessage }: { user: UserPublic; reportMessage: number | null }) {
  const [report, setReport] = useState<"user" | "message" | null>(null);
  return (
    <div class="stack">
      <div class="row profile__actions">
        <WriteButton userId={user.id} />
        <BlockToggle userId={user.id} />
        <Button onClick={() => setReport("user")}>{t("profile.report")}</Button>
      </div>
      {reportMessage !== null && (
        <div class="card profile__report-message">
          <p>{t("profile.report_message_hint")}</p>
          <Button variant="danger" onClick={() => setReport("message")}>
            {t("profile.report_message")}
          </Button>
        </div>
      )}
      {report === "user" && <ReportDialog userId={user.id} onClose={() => setReport(null)} />}
      {report === "message" && reportMessage !== null && <ReportDialog messageId={reportMessage} onClose={() => setReport(null)} />}
    </div>
  );
}

function Card({ user, isMe, reportMessage }: { user: UserPublic; isMe: boolean; reportMessage: number | null }) {
  const name = personName(user);
  return (
    <div class="stack">
      <div class="card profile__card">
        <Avatar name={name} fileId={user.is_masked ? null : user.avatar_file_id} size={72} />
        <div>
          <h1 class="profile__name">{name}</h1>
          {user.is_masked && <p class="muted">{t("profile.masked")}</p>}
          {isMe && <p class="muted">{t("profile.this_is_you")}</p>}
        </div>
      </div>
      {isMe ? <BlockedList /> : <Actions user={user} reportMessage={reportMessage} />}
    </div>
  );
}

function positiveInt(value: string | undefined): number | null {
  const number = Number(value);
  return value && Number.isSafeInteger(number) && number > 0 ? number : null;
}

export default function UserProfile() {
  const { params } = useRoute();
  const { query } = useLocation();
  const me = useMe();
  const userId = params.userId === "me" ? (me?.id ?? null) : positiveInt(params.userId);
  const state = useUser(userId);
  let body;
  if (userId === null && params.userId !== "me") body = <p class="empty">{t("profile.not_found")}</p>;
  else if (state === null) body = <Spinner />;
  else if ("error" in state) {
    const missing = state.error instanceof ApiError && state.error.status === 404;
    body = missing ? <p class="empty">{t("profile.not_found")}</p> : <ErrorText error={state.error} />;
  } else {
    body = <Card user={state.user} isMe={state.user.id === me?.id} reportMessage={positiveInt(query.report_message)} />;
  }
  return <div class="page page--narrow profile">{body}</div>;
}
