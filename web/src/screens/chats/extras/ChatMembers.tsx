import { useEffect, useState } from "preact/hooks";
import { api } from "../../../api/client";
import type { Chat, ChatMember } from "../../../api/types";
import { plural, t } from "../../../i18n";
import { useMe } from "../../../store/session";
import { Avatar, Button, ErrorText, Spinner } from "../../../ui";
import { chatMembers, forgetMembers, onMembersChanged } from "./data";
import { fullName } from "./logic";
import { PhoneLookup } from "./PhoneLookup";
import { canAddMembers, canRemoveMember, canSetRole } from "./rights";
import { ConfirmDialog } from "./shared";

const ROLE_KEYS = { owner: "chatx.role.owner", admin: "chatx.role.admin" } as const;

function useMembers(chatId: number): [ChatMember[] | null, unknown] {
  const [members, setMembers] = useState<ChatMember[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let alive = true;
    const load = () => chatMembers(chatId).then((value) => alive && setMembers(value), (err: unknown) => alive && setError(err));
    void load();
    const stop = onMembersChanged((changed) => changed === chatId && void load());
    return () => {
      alive = false;
      stop();
    };
  }, [chatId]);
  return [members, error];
}

function MemberRow({ chat, member, isMe, onError }: { chat: Chat; member: ChatMember; isMe: boolean; onError: (err: unknown) => void }) {
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const name = fullName(member);
  const setRole = async () => {
    setBusy(true);
    try {
      await api("PATCH", `/chats/${chat.id}/members/${member.id}`, { role: member.role === "admin" ? "member" : "admin" });
      forgetMembers(chat.id);
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  const roleKey = ROLE_KEYS[member.role as keyof typeof ROLE_KEYS];
  return (
    <li class="chatx-member">
      <Avatar name={name} fileId={member.avatar_file_id} size={36} />
      <span class="chatx-member__name">
        {name}
        {isMe && <span class="muted"> {t("chatx.members.you")}</span>}
        {member.badge === "teacher" && <span class="badge chatx-badge">{t("chatx.badge.teacher")}</span>}
        {member.is_masked && member.school && <small class="muted"> · {member.school}</small>}
        {roleKey && <small class="chatx-member__role">{t(roleKey)}</small>}
      </span>
      {/* The buttons wrap together under the name on narrow screens. */}
      <span class="chatx-member__actions">
        {!isMe && canSetRole(chat, member.role) && (
          <Button variant="ghost" busy={busy} onClick={setRole}>
            {t(member.role === "admin" ? "chatx.members.demote" : "chatx.members.promote")}
          </Button>
        )}
        {!isMe && canRemoveMember(chat, member.role) && (
          <Button variant="ghost" aria-label={t("chatx.members.removeName", { name })} onClick={() => setConfirm(true)}>
            {t("chatx.members.remove")}
          </Button>
        )}
      </span>
      {confirm && (
        <ConfirmDialog
          title={t("chatx.members.removeTitle")}
          text={t("chatx.members.removeText", { name })}
          confirmLabel={t("chatx.members.remove")}
          onConfirm={async () => {
            await api("DELETE", `/chats/${chat.id}/members/${member.id}`);
            forgetMembers(chat.id);
            setConfirm(false);
          }}
          onClose={() => setConfirm(false)}
        />
      )}
    </li>
  );
}

/** Members with avatars, teacher badges and roles; add, remove, appoint admins. */
export function ChatMembers({ chat }: { chat: Chat }) {
  const me = useMe();
  const [members, loadError] = useMembers(chat.id);
  const [error, setError] = useState<unknown>(null);
  const add = async (userId: number) => {
    setError(null);
    try {
      await api("POST", `/chats/${chat.id}/members`, { user_ids: [userId] });
      forgetMembers(chat.id);
    } catch (err) {
      setError(err);
    }
  };
  const count = members?.length ?? chat.member_count;
  return (
    <section class="chatx-section" aria-labelledby="chatx-members-h">
      <h3 id="chatx-members-h">
        {count} {plural(count, "chatx.members.count")}
      </h3>
      {canAddMembers(chat) && <PhoneLookup id="chatx-add-phone" label={t("chatx.members.add")} action={t("chatx.new.add")} onFound={(user) => void add(user.id)} />}
      <ErrorText error={error ?? loadError} />
      {members === null && !loadError && <Spinner />}
      <ul class="chatx-plain chatx-members">
        {(members ?? []).map((member) => (
          <MemberRow key={member.id} chat={chat} member={member} isMe={member.id === me?.id} onError={setError} />
        ))}
      </ul>
    </section>
  );
}
