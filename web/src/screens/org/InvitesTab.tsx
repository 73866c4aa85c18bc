// Приглашения: links carrying a role (never admin) and a class, with expiry, a use
// limit and optional approval. The token is shown once, right after creation.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { OrgInvite, OrgInviteCreated, OrgInviteList } from "../../api/types";
import { t, type TextKey } from "../../i18n";
import { Button, Empty, ErrorText, Field, Spinner } from "../../ui";
import type { TabProps } from "./Cabinet";
import { INVITE_ROLES, formatDate, roleLabel, useLoad, useOrgEvents } from "./common";
import { ConfirmDialog } from "./ConfirmDialog";
import { inviteBody, validateInviteForm, type FieldErrors, type InviteForm } from "./forms";
import { ClassSelect } from "./MemberDialogs";
import { className, useClasses } from "./people";

const STATES: Record<string, TextKey> = {
  active: "org.invites.state_active",
  expired: "org.invites.state_expired",
  exhausted: "org.invites.state_exhausted",
  revoked: "org.invites.state_revoked",
};

export function inviteUrl(token: string): string {
  return `${location.origin}/org-join/${token}`;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function NewLink({ token }: { token: string }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  const url = inviteUrl(token);
  return (
    <div class="org-newlink stack" role="status">
      <p>
        <strong>{t("org.invites.created")}</strong> {t("org.invites.once")}
      </p>
      <Field id="invite-url" label={t("org.invites.link")}>
        <input id="invite-url" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
      </Field>
      <div class="row">
        <Button variant="primary" onClick={() => void copyText(url).then(setCopied)}>
          {t("common.copy")}
        </Button>
        {copied === true && <span>{t("common.copied")}</span>}
        {copied === false && <span>{t("org.invites.copy_failed")}</span>}
      </div>
    </div>
  );
}

function CreateInvite({ orgId, onCreated }: { orgId: number; onCreated: (created: OrgInviteCreated) => void }) {
  const classes = useClasses(orgId);
  const [form, setForm] = useState<InviteForm>({ role: "parent", class_id: "", expires_days: "7", usage_limit: "", requires_approval: false });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof InviteForm>(key: K, value: InviteForm[K]) => setForm((old) => ({ ...old, [key]: value }));

  async function submit(event: Event) {
    event.preventDefault();
    const found = validateInviteForm(form);
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      onCreated(await api<OrgInviteCreated>("POST", `/orgs/${orgId}/invites`, inviteBody(form)));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card stack" onSubmit={submit} noValidate aria-labelledby="invite-create">
      <h2 id="invite-create">{t("org.invites.create")}</h2>
      <div class="org-form-row">
        <Field id="invite-role" label={t("org.field.role")}>
          <select id="invite-role" value={form.role} onChange={(e) => set("role", e.currentTarget.value)}>
            {INVITE_ROLES.map((role) => (
              <option key={role} value={role}>
                {roleLabel(role)}
              </option>
            ))}
          </select>
        </Field>
        <ClassSelect id="invite-class" value={form.class_id} classes={classes.data ?? []} onChange={(v) => set("class_id", v)} />
      </div>
      <div class="org-form-row">
        <Field id="invite-days" label={t("org.invites.days")} hint={t("org.invites.days_hint")} error={errors.expires_days}>
          <input id="invite-days" inputMode="numeric" value={form.expires_days} onInput={(e) => set("expires_days", e.currentTarget.value)} />
        </Field>
        <Field id="invite-limit" label={t("org.invites.limit")} hint={t("org.invites.limit_hint")} error={errors.usage_limit}>
          <input id="invite-limit" inputMode="numeric" value={form.usage_limit} onInput={(e) => set("usage_limit", e.currentTarget.value)} />
        </Field>
      </div>
      <label class="org-check">
        <input type="checkbox" checked={form.requires_approval} onChange={(e) => set("requires_approval", e.currentTarget.checked)} />
        {t("org.invites.approval")}
      </label>
      <ErrorText error={error} />
      <Button type="submit" variant="primary" busy={busy}>
        {t("org.invites.create_submit")}
      </Button>
    </form>
  );
}

function InviteRow({ invite, classes, onRevoke }: { invite: OrgInvite; classes: ReturnType<typeof useClasses>["data"]; onRevoke: () => void }) {
  const state = invite.state in STATES ? t(STATES[invite.state]!) : invite.state;
  const uses = invite.usage_limit ? `${invite.usage_count}/${invite.usage_limit}` : String(invite.usage_count);
  return (
    <li class="org-row">
      <div>
        <strong>{roleLabel(invite.role)}</strong>
        {invite.class_id ? ` · ${className(classes, invite.class_id)}` : ""} <span class="muted">…{invite.token_prefix}</span>
        <div class="muted">
          {state} · {t("org.invites.uses", { uses })}
          {invite.expires_at ? ` · ${t("org.invites.until", { date: formatDate(invite.expires_at, true) })}` : ""}
          {invite.requires_approval ? ` · ${t("org.invites.with_approval")}` : ""}
        </div>
      </div>
      {invite.state === "active" && (
        <Button variant="danger" onClick={onRevoke}>
          {t("org.invites.revoke")}
        </Button>
      )}
    </li>
  );
}

export function InvitesTab({ org }: TabProps) {
  const invites = useLoad(() => api<OrgInviteList>("GET", `/orgs/${org.id}/invites`, undefined, { query: { limit: 100 } }).then((r) => r.invites), `invites-${org.id}`);
  const classes = useClasses(org.id);
  const [created, setCreated] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<OrgInvite | null>(null);
  useOrgEvents(org.id, ["org_invite.created", "org_invite.revoked"], invites.reload);

  return (
    <div class="stack">
      <CreateInvite orgId={org.id} onCreated={(value) => (setCreated(value.token), invites.reload())} />
      {created && <NewLink token={created} />}
      <section class="card stack" aria-labelledby="invite-list">
        <h2 id="invite-list">{t("org.invites.list")}</h2>
        <ErrorText error={invites.error} />
        {!invites.data && !invites.error && <Spinner />}
        {invites.data?.length === 0 && <Empty>{t("org.invites.none")}</Empty>}
        <ul class="org-list">
          {invites.data?.map((invite) => (
            <InviteRow key={invite.id} invite={invite} classes={classes.data} onRevoke={() => setRevoking(invite)} />
          ))}
        </ul>
      </section>
      {revoking && (
        <ConfirmDialog
          title={t("org.invites.revoke_title")}
          confirm={t("org.invites.revoke")}
          onConfirm={() => api("DELETE", `/orgs/${org.id}/invites/${revoking.id}`)}
          onClose={() => (setRevoking(null), invites.reload())}
        >
          <p>{t("org.invites.revoke_note")}</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
