import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api } from "../../../api/client";
import type { Chat } from "../../../api/types";
import { t } from "../../../i18n";
import { useMe } from "../../../store/session";
import { Avatar, Button, Dialog, ErrorText, Field } from "../../../ui";
import { BlockToggle, ReportDialog } from "../../safety";
import { ChatMembers } from "./ChatMembers";
import { InviteLinks } from "./InviteLinks";
import { fullName } from "./logic";
import { canEditChat, canLeave, canManageInvites, isManaged } from "./rights";
import { ConfirmDialog } from "./shared";

function Settings({ chat, onSaved }: { chat: Chat; onSaved: (chat: Chat) => void }) {
  const [title, setTitle] = useState(chat.title);
  const [description, setDescription] = useState(chat.description ?? "");
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // A class chat takes its title from the class; only the description is the chat's.
  const titleLocked = isManaged(chat);
  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const body = titleLocked ? { description } : { title: title.trim(), description };
      onSaved(await api<Chat>("PATCH", `/chats/${chat.id}`, body));
      setSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="chatx-section" onSubmit={save} noValidate>
      <Field id="chatx-info-title" label={t("chatx.new.title")} hint={titleLocked ? t("chatx.info.titleManaged") : undefined}>
        <input id="chatx-info-title" value={title} disabled={titleLocked} onInput={(event) => setTitle(event.currentTarget.value)} />
      </Field>
      <Field id="chatx-info-description" label={t("chatx.new.description")}>
        <textarea id="chatx-info-description" rows={3} value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
      </Field>
      <ErrorText error={error} />
      <div class="row">
        <Button type="submit" busy={busy}>
          {t("common.save")}
        </Button>
        <span class="muted" aria-live="polite">
          {saved ? t("chatx.info.saved") : ""}
        </span>
      </div>
    </form>
  );
}

function DirectPeer({ chat }: { chat: Chat }) {
  const [reporting, setReporting] = useState(false);
  const peer = chat.peer;
  if (!peer) return null;
  return (
    <section class="chatx-section" aria-label={fullName(peer)}>
      {peer.is_masked && peer.school && <p class="muted">{peer.school}</p>}
      <div class="row chatx-wrap">
        {!peer.is_masked && (
          <a class="btn btn--secondary chatx-linkbtn" href={`/users/${peer.id}`}>
            {t("chatx.info.profile")}
          </a>
        )}
        <BlockToggle userId={peer.id} />
        <Button variant="danger" onClick={() => setReporting(true)}>
          {t("chatx.menu.report")}
        </Button>
      </div>
      {reporting && <ReportDialog userId={peer.id} onClose={() => setReporting(false)} />}
    </section>
  );
}

/** Chat info side panel: members with teacher badges, invite links, leave, settings. */
export function ChatInfo({ chat: initial, onClose }: { chat: Chat; onClose: () => void }) {
  const me = useMe();
  const { route } = useLocation();
  const [chat, setChat] = useState(initial);
  const [leaving, setLeaving] = useState(false);
  useEffect(() => setChat(initial), [initial]);
  const title = chat.kind === "direct" && chat.peer ? fullName(chat.peer) : chat.title;
  return (
    <Dialog title={t("chatx.info.title")} onClose={onClose}>
      <div class="chatx-info">
        <header class="chatx-info__head">
          <Avatar name={title} fileId={chat.kind === "direct" ? chat.peer?.avatar_file_id : chat.avatar_file_id} size={56} />
          <div>
            <h3 class="chatx-info__title">{title}</h3>
            <span class="muted">{t(chat.kind === "channel" ? "chatx.kind.channel" : chat.kind === "direct" ? "chatx.kind.direct" : "chatx.kind.group")}</span>
          </div>
        </header>
        {canEditChat(chat) ? (
          <Settings chat={chat} onSaved={setChat} />
        ) : (
          chat.description && <p class="chatx-info__description">{chat.description}</p>
        )}
        {chat.kind === "direct" ? <DirectPeer chat={chat} /> : <ChatMembers chat={chat} />}
        {canManageInvites(chat) && <InviteLinks chat={chat} />}
        {canLeave(chat) && (
          <Button variant="danger" onClick={() => setLeaving(true)}>
            {t(chat.kind === "channel" ? "chatx.info.unsubscribe" : "chatx.info.leave")}
          </Button>
        )}
      </div>
      {leaving && me && (
        <ConfirmDialog
          title={t("chatx.info.leaveTitle")}
          text={t("chatx.info.leaveText", { title })}
          confirmLabel={t("chatx.info.leave")}
          onConfirm={async () => {
            await api("DELETE", `/chats/${chat.id}/members/${me.id}`);
            onClose();
            route("/");
          }}
          onClose={() => setLeaving(false)}
        />
      )}
    </Dialog>
  );
}
