// Finding a verified organization (by name or INN) and asking to join it; my requests.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { JoinRequest, OrgDirectory, OrgDirectoryCard, OrgRole } from "../../api/types";
import { t, type TextKey } from "../../i18n";
import { Button, Dialog, Empty, ErrorText, Field, Spinner } from "../../ui";
import { INVITE_ROLES, formatDate, kindLabel, roleLabel, type Loaded } from "./common";

function AskToJoin({ org, onClose, onDone }: { org: OrgDirectoryCard; onClose: () => void; onDone: () => void }) {
  const [role, setRole] = useState<OrgRole>("parent");
  const [message, setMessage] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api("POST", `/orgs/${org.id}/join-requests`, { role, message: message.trim() });
      onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <Dialog title={t("org.find.ask_title", { name: org.short_name })} onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <Field id="ask-role" label={t("org.field.role")}>
          <select id="ask-role" value={role} onChange={(e) => setRole(e.currentTarget.value as OrgRole)}>
            {INVITE_ROLES.map((value) => (
              <option key={value} value={value}>
                {roleLabel(value)}
              </option>
            ))}
          </select>
        </Field>
        <Field id="ask-message" label={t("org.find.message")} hint={t("org.find.message_hint")}>
          <textarea id="ask-message" rows={3} maxLength={500} value={message} onInput={(e) => setMessage(e.currentTarget.value)} />
        </Field>
        <ErrorText error={error} />
        <Button type="submit" variant="primary" busy={busy}>
          {t("org.find.send")}
        </Button>
      </form>
    </Dialog>
  );
}

export function FindOrg({ onRequested }: { onRequested: () => void }) {
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<OrgDirectoryCard[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [asking, setAsking] = useState<OrgDirectoryCard | null>(null);
  const [sent, setSent] = useState("");

  async function search(event: Event) {
    event.preventDefault();
    if (!query.trim()) return;
    setBusy(true);
    setError(null);
    try {
      setFound((await api<OrgDirectory>("GET", "/org-directory", undefined, { query: { q: query.trim() } })).orgs);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card stack" aria-labelledby="org-find">
      <h2 id="org-find">{t("org.find.title")}</h2>
      <form class="row" role="search" onSubmit={search}>
        <label for="org-find-q" class="visually-hidden">
          {t("org.find.query")}
        </label>
        <input id="org-find-q" type="search" placeholder={t("org.find.query")} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        <Button type="submit" busy={busy}>
          {t("common.search")}
        </Button>
      </form>
      <ErrorText error={error} />
      {sent && <p role="status">{sent}</p>}
      {found?.length === 0 && <Empty>{t("org.find.nothing")}</Empty>}
      {found && found.length > 0 && (
        <ul class="org-list" aria-live="polite">
          {found.map((org) => (
            <li key={org.id} class="org-row">
              <div>
                <strong>{org.short_name}</strong> <span class="badge org-verified">{t("org.verified")}</span>
                <div class="muted">
                  {kindLabel(org.kind)} · {org.full_name}
                  {org.municipality ? ` · ${org.municipality}` : ""}
                </div>
              </div>
              <Button onClick={() => setAsking(org)}>{t("org.find.ask")}</Button>
            </li>
          ))}
        </ul>
      )}
      {asking && (
        <AskToJoin
          org={asking}
          onClose={() => setAsking(null)}
          onDone={() => {
            setSent(t("org.find.sent", { name: asking.short_name }));
            setAsking(null);
            onRequested();
          }}
        />
      )}
    </section>
  );
}

const STATUS_KEYS: Record<string, TextKey> = {
  pending: "org.request.pending",
  approved: "org.request.approved",
  declined: "org.request.declined",
  cancelled: "org.request.cancelled",
};

export function requestStatus(status: string): string {
  return status in STATUS_KEYS ? t(STATUS_KEYS[status]!) : status;
}

export function MyJoinRequests({ loaded }: { loaded: Loaded<JoinRequest[]> }) {
  const [error, setError] = useState<unknown>(null);
  async function cancel(id: number) {
    setError(null);
    try {
      await api("DELETE", `/me/join-requests/${id}`);
      loaded.reload();
    } catch (err) {
      setError(err);
    }
  }
  if (loaded.data?.length === 0) return null;
  return (
    <section class="card stack" aria-labelledby="org-my-requests">
      <h2 id="org-my-requests">{t("org.home.requests")}</h2>
      {!loaded.data && !loaded.error && <Spinner />}
      <ErrorText error={loaded.error ?? error} />
      <ul class="org-list">
        {loaded.data?.map((request) => (
          <li key={request.id} class="org-row">
            <div>
              <strong>{request.org?.short_name ?? `#${request.org_id}`}</strong> · {roleLabel(request.role)}
              <div class="muted">
                {requestStatus(request.status)} · {formatDate(request.created_at)}
                {request.reason ? ` · ${request.reason}` : ""}
              </div>
            </div>
            {request.status === "pending" && (
              <Button onClick={() => void cancel(request.id)}>{t("org.request.cancel")}</Button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
