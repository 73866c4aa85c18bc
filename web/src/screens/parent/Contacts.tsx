// A child's contacts (who they talk to, who may reach them) and the parent's
// approved contacts: add by phone, remove.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Schemas } from "../../api/client";
import { t, type TextKey } from "../../i18n";
import { subscribe } from "../../net/events";
import { Avatar, Button, Empty, ErrorText, Field, Spinner } from "../../ui";
import { personName } from "../safety/names";
import "../safety/safety.css";

type Contact = Schemas["ContactOut"];
export type ContactsState = { list: Contact[] | null; error: unknown; reload: () => void };

const VIA: Record<Contact["via"][number], TextKey> = {
  direct: "parent.via.direct",
  approved: "parent.via.approved",
  parent: "parent.via.parent",
  school: "parent.via.school",
};

export function useContacts(childId: number): ContactsState {
  const [list, setList] = useState<Contact[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    api<Schemas["ContactList"]>("GET", `/children/${childId}/contacts`, undefined, { signal: controller.signal })
      .then((result) => (setList(result.contacts), setError(null)))
      .catch((err: unknown) => !controller.signal.aborted && setError(err));
    return () => controller.abort();
  }, [childId, version]);
  useEffect(() => {
    // The other parent may approve or remove someone at the same time.
    const mine = (event: { data: Record<string, unknown> }) => Number(event.data.child_id) === childId && setVersion((v) => v + 1);
    const offs = [subscribe("child.contact_approved", mine), subscribe("child.contact_removed", mine)];
    return () => offs.forEach((off) => off());
  }, [childId]);
  return { list, error, reload: () => setVersion((v) => v + 1) };
}

function ApproveForm({ childId, onApproved }: { childId: number; onApproved: () => void }) {
  const [phone, setPhone] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  async function submit(event: Event) {
    event.preventDefault();
    if (!phone.trim()) return setError(null);
    setBusy(true);
    setError(null);
    setDone("");
    try {
      const user = await api<Schemas["UserPublic"]>("POST", `/children/${childId}/approved-contacts`, { phone: phone.trim() });
      setPhone("");
      setDone(t("parent.approved.done", { name: personName(user) }));
      onApproved();
    } catch (err) {
      setError(err); // the number stays in the field to correct it
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="parent__approve" onSubmit={submit}>
      <Field id="approve-phone" label={t("parent.approved.phone")} hint={t("parent.approved.phone_hint")}>
        <input id="approve-phone" type="tel" inputMode="tel" autoComplete="off" value={phone} required onInput={(event) => setPhone(event.currentTarget.value)} />
      </Field>
      <ErrorText error={error} />
      <p class="parent__done" role="status" aria-live="polite">
        {done}
      </p>
      <Button variant="primary" type="submit" busy={busy}>
        {t("parent.approved.add")}
      </Button>
    </form>
  );
}

function RemoveButton({ childId, contact, onRemoved }: { childId: number; contact: Contact; onRemoved: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const name = personName(contact.user);
  async function remove() {
    setBusy(true);
    try {
      await api("DELETE", `/children/${childId}/approved-contacts/${contact.user.id}`);
      onRemoved();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <>
      <Button variant="danger" busy={busy} aria-label={t("parent.approved.remove_named", { name })} onClick={() => void remove()}>
        {t("parent.approved.remove")}
      </Button>
      <ErrorText error={error} />
    </>
  );
}

export function ApprovedContacts({ childId, contacts }: { childId: number; contacts: ContactsState }) {
  const approved = contacts.list?.filter((contact) => contact.is_approved) ?? [];
  return (
    <section class="card stack" aria-labelledby="approved-title">
      <h2 id="approved-title">{t("parent.approved.title")}</h2>
      <p class="muted">{t("parent.approved.intro")}</p>
      {contacts.list !== null && approved.length === 0 && <p class="muted">{t("parent.approved.empty")}</p>}
      {approved.length > 0 && (
        <ul class="safety__people">
          {approved.map((contact) => (
            <li key={contact.user.id} class="safety__person">
              <Avatar name={personName(contact.user)} fileId={contact.user.avatar_file_id} size={36} />
              <span class="safety__person-name">{personName(contact.user)}</span>
              <RemoveButton childId={childId} contact={contact} onRemoved={contacts.reload} />
            </li>
          ))}
        </ul>
      )}
      <ApproveForm childId={childId} onApproved={contacts.reload} />
    </section>
  );
}

export function Contacts({ contacts }: { contacts: ContactsState }) {
  return (
    <section class="card stack" aria-labelledby="contacts-title">
      <h2 id="contacts-title">{t("parent.contacts.title")}</h2>
      <p class="muted">{t("parent.contacts.intro")}</p>
      <ErrorText error={contacts.error} />
      {contacts.list === null ? (
        !contacts.error && <Spinner />
      ) : contacts.list.length === 0 ? (
        <Empty>{t("parent.contacts.empty")}</Empty>
      ) : (
        <ul class="safety__people">
          {contacts.list.map((contact) => (
            <li key={contact.user.id} class="safety__person">
              <Avatar name={personName(contact.user)} fileId={contact.user.avatar_file_id} size={36} />
              <span class="safety__person-name">
                {personName(contact.user)}
                <span class="parent__tags">
                  {contact.via.map((via) => (
                    <span key={via} class="badge">
                      {t(VIA[via])}
                    </span>
                  ))}
                  {!contact.in_circle && <span class="badge parent__badge--out">{t("parent.contacts.out_of_circle")}</span>}
                </span>
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
