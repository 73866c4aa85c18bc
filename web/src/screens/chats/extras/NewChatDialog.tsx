import { useEffect, useState } from "preact/hooks";
import { api } from "../../../api/client";
import type { Chat, ChatList, UserPublic } from "../../../api/types";
import { t } from "../../../i18n";
import { Avatar, Button, Dialog, ErrorText, Field } from "../../../ui";
import { fullName } from "./logic";
import { PhoneLookup } from "./PhoneLookup";

type Tab = "direct" | "group" | "channel";
const TABS: { id: Tab; key: "chatx.new.direct" | "chatx.new.group" | "chatx.new.channel" }[] = [
  { id: "direct", key: "chatx.new.direct" },
  { id: "group", key: "chatx.new.group" },
  { id: "channel", key: "chatx.new.channel" },
];

function DirectTab({ onCreated }: { onCreated: (chatId: number) => void }) {
  const [found, setFound] = useState<UserPublic | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const open = async (user: UserPublic) => {
    setBusy(true);
    setError(null);
    try {
      onCreated((await api<Chat>("POST", "/chats/direct", { user_id: user.id })).id);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <div class="stack">
      <PhoneLookup id="chatx-direct-phone" label={t("chatx.new.phone")} action={t("chatx.new.find")} onFound={setFound} />
      {found && (
        <div class="chatx-person card" aria-live="polite">
          <Avatar name={fullName(found)} fileId={found.avatar_file_id} />
          <span class="chatx-person__name">{fullName(found)}</span>
          <Button variant="primary" busy={busy} onClick={() => open(found)}>
            {t("chatx.new.write")}
          </Button>
        </div>
      )}
      <ErrorText error={error} />
    </div>
  );
}

/** People you already talk to in direct chats: the likely members of a new group. */
function useContacts(): UserPublic[] {
  const [contacts, setContacts] = useState<UserPublic[]>([]);
  useEffect(() => {
    api<ChatList>("GET", "/chats").then(
      (list) => setContacts(list.chats.flatMap((chat) => (chat.kind === "direct" && chat.peer && !chat.peer.is_masked ? [chat.peer] : []))),
      () => undefined,
    );
  }, []);
  return contacts;
}

function CreateTab({ kind, onCreated }: { kind: "group" | "channel"; onCreated: (chatId: number) => void }) {
  const contacts = useContacts();
  const [added, setAdded] = useState<UserPublic[]>([]);
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [titleError, setTitleError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const people = [...added, ...contacts.filter((person) => !added.some((other) => other.id === person.id))];
  const toggle = (id: number) =>
    setChosen((current) => {
      const next = new Set(current);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const create = async (event: Event) => {
    event.preventDefault();
    if (!title.trim()) {
      setTitleError(t("chatx.new.titleRequired"));
      return;
    }
    setTitleError(null);
    setBusy(true);
    setError(null);
    try {
      const body = { kind, title: title.trim(), description: description.trim(), member_ids: [...chosen] };
      onCreated((await api<Chat>("POST", "/chats", body)).id);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const prefix = `chatx-${kind}`;
  return (
    <div class="stack">
      <form id={`${prefix}-form`} onSubmit={create} noValidate>
        <Field id={`${prefix}-title`} label={t("chatx.new.title")} error={titleError}>
          <input
            id={`${prefix}-title`}
            value={title}
            maxLength={200}
            aria-invalid={titleError ? true : undefined}
            onInput={(event) => setTitle(event.currentTarget.value)}
          />
        </Field>
        {kind === "channel" && (
          <Field id={`${prefix}-description`} label={t("chatx.new.description")}>
            <textarea id={`${prefix}-description`} rows={3} value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
          </Field>
        )}
      </form>
      <fieldset class="chatx-members-pick">
        <legend>{t(kind === "group" ? "chatx.new.members" : "chatx.new.subscribers")}</legend>
        <small class="field__hint">{t("chatx.new.later")}</small>
        {people.length === 0 && <p class="muted">{t("chatx.new.noContacts")}</p>}
        <ul class="chatx-plain">
          {people.map((person) => (
            <li key={person.id}>
              <label class="chatx-check">
                <input type="checkbox" checked={chosen.has(person.id)} onChange={() => toggle(person.id)} />
                <Avatar name={fullName(person)} fileId={person.avatar_file_id} size={32} />
                <span>{fullName(person)}</span>
              </label>
            </li>
          ))}
        </ul>
        <PhoneLookup
          id={`${prefix}-phone`}
          label={t("chatx.new.addByPhone")}
          action={t("chatx.new.add")}
          onFound={(user) => {
            setAdded((current) => [user, ...current.filter((other) => other.id !== user.id)]);
            setChosen((current) => new Set(current).add(user.id));
          }}
        />
      </fieldset>
      <ErrorText error={error} />
      {/* Outside the form (the phone search is a form of its own), tied to it by id. */}
      <button type="submit" class="btn btn--primary" form={`${prefix}-form`} disabled={busy} aria-busy={busy ? "true" : undefined}>
        {t(kind === "group" ? "chatx.new.createGroup" : "chatx.new.createChannel")}
      </button>
    </div>
  );
}

/** New direct chat (find by phone), new group, new channel. */
export function NewChatDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (chatId: number) => void }) {
  const [tab, setTab] = useState<Tab>("direct");
  const onTabKey = (event: KeyboardEvent) => {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    const index = TABS.findIndex((item) => item.id === tab);
    const next = TABS[(index + (event.key === "ArrowRight" ? 1 : -1) + TABS.length) % TABS.length];
    if (next) {
      setTab(next.id);
      document.getElementById(`chatx-tab-${next.id}`)?.focus();
    }
  };
  return (
    <Dialog title={t("chatx.new.dialog")} onClose={onClose}>
      <div class="chatx-tabs" role="tablist" aria-label={t("chatx.new.dialog")} onKeyDown={onTabKey}>
        {TABS.map((item) => (
          <button
            key={item.id}
            id={`chatx-tab-${item.id}`}
            type="button"
            role="tab"
            aria-selected={tab === item.id}
            aria-controls={`chatx-panel-${item.id}`}
            tabIndex={tab === item.id ? 0 : -1}
            class="chatx-tab"
            onClick={() => setTab(item.id)}
          >
            {t(item.key)}
          </button>
        ))}
      </div>
      {/* All panels stay mounted (hidden) so switching tabs keeps what was typed. */}
      {TABS.map((item) => (
        <div key={item.id} id={`chatx-panel-${item.id}`} role="tabpanel" aria-labelledby={`chatx-tab-${item.id}`} class="chatx-tabpanel" hidden={tab !== item.id}>
          {item.id === "direct" ? <DirectTab onCreated={onCreated} /> : <CreateTab kind={item.id} onCreated={onCreated} />}
        </div>
      ))}
    </Dialog>
  );
}
