// Администраторы: the main admins and additional admins. Who may appoint or demote
// whom is the server's rule (policy); its refusal is shown as it says.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { OrgMember, OrgRole } from "../../api/types";
import { t } from "../../i18n";
import { Button, Dialog, Empty, ErrorText, Field, Spinner } from "../../ui";
import type { TabProps } from "./Cabinet";
import { INVITE_ROLES, isAdminRole, roleLabel } from "./common";
import { useAllMembers } from "./people";

function AppointForm({ orgId, candidates, onDone }: { orgId: number; candidates: OrgMember[]; onDone: () => void }) {
  const [memberId, setMemberId] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    if (!memberId) return;
    setBusy(true);
    setError(null);
    try {
      await api("PATCH", `/orgs/${orgId}/members/${memberId}`, { role: "additional_admin" });
      setMemberId("");
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="stack" onSubmit={submit}>
      <h3>{t("org.admins.appoint")}</h3>
      <Field id="appoint-member" label={t("org.admins.who")} hint={t("org.admins.appoint_hint")}>
        <select id="appoint-member" value={memberId} onChange={(e) => setMemberId(e.currentTarget.value)}>
          <option value="">{t("org.admins.choose")}</option>
          {candidates.map((member) => (
            <option key={member.member_id} value={member.member_id}>
              {member.name} ({roleLabel(member.role)})
            </option>
          ))}
        </select>
      </Field>
      <ErrorText error={error} />
      <Button type="submit" variant="primary" busy={busy} disabled={!memberId}>
        {t("org.admins.appoint_submit")}
      </Button>
    </form>
  );
}

function DemoteDialog({ orgId, member, onClose }: { orgId: number; member: OrgMember; onClose: () => void }) {
  const [role, setRole] = useState<OrgRole>("staff");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api("PATCH", `/orgs/${orgId}/members/${member.member_id}`, { role });
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title={t("org.admins.demote_title", { name: member.name })} onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <Field id="demote-role" label={t("org.admins.new_role")}>
          <select id="demote-role" value={role} onChange={(e) => setRole(e.currentTarget.value as OrgRole)}>
            {INVITE_ROLES.map((value) => (
              <option key={value} value={value}>
                {roleLabel(value)}
              </option>
            ))}
          </select>
        </Field>
        <ErrorText error={error} />
        <Button type="submit" variant="danger" busy={busy}>
          {t("org.admins.demote")}
        </Button>
      </form>
    </Dialog>
  );
}

export function AdminsTab({ org }: TabProps) {
  const members = useAllMembers(org.id);
  const [demoting, setDemoting] = useState<OrgMember | null>(null);
  const admins = members.data?.filter((member) => isAdminRole(member.role)) ?? [];
  const candidates = members.data?.filter((member) => !isAdminRole(member.role) && member.status === "active") ?? [];
  return (
    <section class="card stack" aria-labelledby="admins-title">
      <h2 id="admins-title">{t("org.tab.admins")}</h2>
      <p class="muted">{t("org.admins.about")}</p>
      <ErrorText error={members.error} />
      {!members.data && !members.error && <Spinner />}
      {members.data && admins.length === 0 && <Empty>{t("common.empty")}</Empty>}
      <ul class="org-list">
        {admins.map((member) => (
          <li key={member.member_id} class="org-row">
            <div>
              <strong>{member.name}</strong>
              <div class="muted">{roleLabel(member.role)}</div>
            </div>
            <Button variant="danger" onClick={() => setDemoting(member)}>
              {t("org.admins.demote")}
            </Button>
          </li>
        ))}
      </ul>
      <AppointForm orgId={org.id} candidates={candidates} onDone={members.reload} />
      {demoting && <DemoteDialog orgId={org.id} member={demoting} onClose={() => (setDemoting(null), members.reload())} />}
    </section>
  );
}
