import { useEffect, useState } from "preact/hooks";
import { api } from "../../../api/client";
import type { Chat, ChatInvite, ChatInviteCreated } from "../../../api/types";
import { locale, t } from "../../../i18n";
import { Button, ErrorText, Field } from "../../../ui";
import { INVITE_EXPIRY, inviteUrl } from "./logic";

const STATE_KEYS = {
  active: "chatx.invite.state.active",
  expired: "chatx.invite.state.expired",
  exhausted: "chatx.invite.state.exhausted",
  revoked: "chatx.invite.state.revoked",
} as const;

function stateText(state: string): string {
  return state in STATE_KEYS ? t(STATE_KEYS[state as keyof typeof STATE_KEYS]) : state;
}

function CreatedLink({ url }: { url: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      (document.getElementById("chatx-invite-url") as HTMLInputElement | null)?.select();
      document.execCommand("copy");
    }
    setCopied(true);
  };
  return (
    <div class="chatx-created">
      <Field id="chatx-invite-url" label={t("chatx.invite.created")} hint={t("chatx.invite.once")}>
        <input id="chatx-invite-url" readOnly value={url} onFocus={(event) => event.currentTarget.select()} />
      </Field>
      <Button onClick={copy}>{copied ? t("common.copied") : t("chatx.invite.copy")}</Button>
      <span class="visually-hidden" aria-live="polite">
        {copied ? t("common.copied") : ""}
      </span>
    </div>
  );
}

function InviteRow({ invite, onRevoke }: { invite: ChatInvite; onRevoke: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const used = invite.usage_limit
    ? t("chatx.invite.usedOf", { n: invite.usage_count, m: invite.usage_limit })
    : t("chatx.invite.used", { n: invite.usage_count });
  const expires = invite.expires_at
    ? t("chatx.invite.until", { date: new Date(invite.expires_at).toLocaleString(locale(), { dateStyle: "short", timeStyle: "short" }) })
    : "";
  return (
    <li class="chatx-invite">
      <span>
        <code>{invite.token_prefix}…</code> · {stateText(invite.state)}
        <br />
        <small class="muted">{[used, expires].filter(Boolean).join(" · ")}</small>
      </span>
      {invite.state === "active" && (
        <Button
          variant="ghost"
          busy={busy}
          aria-label={t("chatx.invite.revokeOne", { prefix: invite.token_prefix })}
          onClick={async () => {
            setBusy(true);
            await onRevoke().finally(() => setBusy(false));
          }}
        >
          {t("chatx.invite.revoke")}
        </Button>
      )}
    </li>
  );
}

/** Invite links of a chat: make one (expiry, limit), copy it once, list, revoke. */
export function InviteLinks({ chat }: { chat: Chat }) {
  const [invites, setInvites] = useState<ChatInvite[]>([]);
  const [expiry, setExpiry] = useState("86400");
  const [limit, setLimit] = useState("");
  const [limitError, setLimitError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const load = () => api<{ invites: ChatInvite[] }>("GET", `/chats/${chat.id}/invites`).then((body) => setInvites(body.invites), setError);
  useEffect(() => {
    void load();
  }, [chat.id]);
  const create = async (event: Event) => {
    event.preventDefault();
    const usage = limit.trim() ? Number(limit) : null;
    if (usage !== null && (!Number.isInteger(usage) || usage < 1)) {
      setLimitError(t("chatx.invite.badLimit"));
      return;
    }
    setLimitError(null);
    setBusy(true);
    setError(null);
    try {
      const body = { expires_in_seconds: expiry ? Number(expiry) : null, usage_limit: usage };
      const invite = await api<ChatInviteCreated>("POST", `/chats/${chat.id}/invites`, body);
      setCreated(inviteUrl(location.origin, invite.token));
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (invite: ChatInvite) => {
    setError(null);
    try {
      await api("DELETE", `/chats/${chat.id}/invites/${invite.id}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section class="chatx-section" aria-labelledby="chatx-invites-h">
      <h3 id="chatx-invites-h">{t("chatx.invite.heading")}</h3>
      <form class="chatx-invite-form" onSubmit={create} noValidate>
        <Field id="chatx-invite-expiry" label={t("chatx.invite.expiry")}>
          <select id="chatx-invite-expiry" value={expiry} onChange={(event) => setExpiry(event.currentTarget.value)}>
            {INVITE_EXPIRY.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {t(choice.key)}
              </option>
            ))}
          </select>
        </Field>
        <Field id="chatx-invite-limit" label={t("chatx.invite.limit")} hint={t("chatx.invite.limitHint")} error={limitError}>
          <input id="chatx-invite-limit" type="number" min={1} inputMode="numeric" value={limit} onInput={(event) => setLimit(event.currentTarget.value)} />
        </Field>
        <Button type="submit" busy={busy}>
          {t("chatx.invite.create")}
        </Button>
      </form>
      {created && <CreatedLink url={created} />}
      <ErrorText error={error} />
      {invites.length > 0 && (
        <ul class="chatx-plain">
          {invites.map((invite) => (
            <InviteRow key={invite.id} invite={invite} onRevoke={() => revoke(invite)} />
          ))}
        </ul>
      )}
    </section>
  );
}
