// Журнал: who did what to whom, newest first, paged by `before`.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { AuditEntry, AuditList } from "../../api/types";
import { t, type TextKey } from "../../i18n";
import { Button, Empty, ErrorText, Spinner } from "../../ui";
import type { TabProps } from "./Cabinet";
import { formatDate } from "./common";
import { className, memberName, useAllMembers, useClasses } from "./people";

const ACTIONS: Record<string, TextKey> = {
  "org.created": "org.audit.org_created",
  "org.updated": "org.audit.org_updated",
  "org.verified": "org.audit.org_verified",
  "org.unverified": "org.audit.org_unverified",
  "class.created": "org.audit.class_created",
  "class.updated": "org.audit.class_updated",
  "class.deleted": "org.audit.class_deleted",
  "member.added": "org.audit.member_added",
  "member.joined": "org.audit.member_joined",
  "member.removed": "org.audit.member_removed",
  "member.role_changed": "org.audit.member_role_changed",
  "member.class_changed": "org.audit.member_class_changed",
  "member.safe_mode_changed": "org.audit.member_safe_mode_changed",
  "invite.created": "org.audit.invite_created",
  "invite.revoked": "org.audit.invite_revoked",
  "join_request.approved": "org.audit.join_request_approved",
  "join_request.declined": "org.audit.join_request_declined",
  "parent_link.added": "org.audit.parent_link_added",
  "parent_link.requested": "org.audit.parent_link_requested",
  "parent_link.confirmed": "org.audit.parent_link_confirmed",
  "parent_link.removed": "org.audit.parent_link_removed",
};

export function auditLabel(action: string): string {
  return action in ACTIONS ? t(ACTIONS[action]!) : action;
}

const PAGE = 50;

export function AuditTab({ org }: TabProps) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [before, setBefore] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const members = useAllMembers(org.id);
  const classes = useClasses(org.id);
  const byUser = (id: number | null | undefined) => members.data?.find((m) => m.user_id === id)?.name ?? (id ? `#${id}` : "");

  async function load(from: number | null) {
    try {
      const page = await api<AuditList>("GET", `/orgs/${org.id}/audit`, undefined, { query: { before: from ?? undefined, limit: PAGE } });
      setEntries((old) => (from === null ? page.entries : [...(old ?? []), ...page.entries]));
      setBefore(page.next_before ?? null);
    } catch (err) {
      setError(err);
    }
  }
  useEffect(() => void load(null), [org.id]);

  return (
    <section class="card stack" aria-labelledby="audit-title">
      <h2 id="audit-title">{t("org.tab.audit")}</h2>
      <ErrorText error={error} />
      {!entries && !error && <Spinner />}
      {entries?.length === 0 && <Empty>{t("common.empty")}</Empty>}
      <ul class="org-list">
        {entries?.map((entry) => (
          <li key={entry.id} class="org-audit">
            <time dateTime={entry.at} class="muted">
              {formatDate(entry.at, true)}
            </time>
            <span>
              <strong>{byUser(entry.actor_id)}</strong> — {auditLabel(entry.action)}
              {entry.target_member_id ? `: ${memberName(members.data, entry.target_member_id)}` : ""}
              {entry.class_id ? ` (${className(classes.data, entry.class_id)})` : ""}
            </span>
          </li>
        ))}
      </ul>
      {before !== null && <Button onClick={() => void load(before)}>{t("org.more")}</Button>}
    </section>
  );
}
