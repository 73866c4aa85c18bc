// Участники: the directory with role/class filters and cursor paging; add by phone;
// change role/class; remove; a student's safe mode; link a parent to a child.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { ClassGroup, OrgMember, OrgMemberList } from "../../api/types";
import { t } from "../../i18n";
import { Button, Empty, ErrorText, Field, Spinner } from "../../ui";
import type { TabProps } from "./Cabinet";
import { ROLES, roleLabel, useOrgEvents } from "./common";
import { ConfirmDialog } from "./ConfirmDialog";
import { AddMemberDialog, EditMemberDialog, LinkParentDialog, SafeModeDialog } from "./MemberDialogs";
import { className, memberName, useAllMembers, useClasses } from "./people";

const PAGE = 50;

/** One filtered directory, paged by cursor; `reload` starts over from the first page. */
function useDirectory(orgId: number, role: string, classId: string) {
  const [members, setMembers] = useState<OrgMember[] | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [round, setRound] = useState(0);

  async function fetchPage(after: number | null): Promise<OrgMemberList> {
    const query = { role: role || undefined, class_id: classId || undefined, cursor: after ?? undefined, limit: PAGE };
    return api<OrgMemberList>("GET", `/orgs/${orgId}/members`, undefined, { query });
  }
  useEffect(() => {
    let alive = true;
    fetchPage(null).then(
      (page) => alive && (setMembers(page.members), setCursor(page.next_cursor ?? null), setError(null)),
      (err: unknown) => alive && setError(err),
    );
    return () => {
      alive = false;
    };
  }, [orgId, role, classId, round]);

  async function more() {
    try {
      const page = await fetchPage(cursor);
      setMembers((old) => [...(old ?? []), ...page.members]);
      setCursor(page.next_cursor ?? null);
    } catch (err) {
      setError(err);
    }
  }
  return { members, cursor, error, more, reload: () => setRound((n) => n + 1) };
}

type Open = { kind: "add" } | { kind: "edit" | "remove" | "safe" | "link"; member: OrgMember } | null;

function MemberRow({ member, classes, everyone, onOpen }: { member: OrgMember; classes: ClassGroup[] | null; everyone: OrgMember[] | null; onOpen: (open: Open) => void }) {
  const children = (member.children ?? []).map((id) => memberName(everyone, id)).join(", ");
  return (
    <li class="org-row">
      <div>
        <strong>{member.name || member.phone}</strong> {member.status === "pending" && <span class="badge badge--off">{t("org.members.pending")}</span>}
        <div class="muted">
          {roleLabel(member.role)}
          {member.class_id ? ` · ${className(classes, member.class_id)}` : ""}
          {member.phone ? ` · ${member.phone}` : ""}
          {children ? ` · ${t("org.members.children", { names: children })}` : ""}
        </div>
        {member.safe_mode === true && <span class="badge">{t("org.members.safe_is_on")}</span>}
      </div>
      <div class="org-actions">
        <Button onClick={() => onOpen({ kind: "edit", member })} aria-label={t("org.members.edit_title", { name: member.name })}>
          {t("org.members.edit")}
        </Button>
        {member.role === "student" && <Button onClick={() => onOpen({ kind: "safe", member })}>{t("org.members.safe")}</Button>}
        {member.role === "parent" && <Button onClick={() => onOpen({ kind: "link", member })}>{t("org.members.link")}</Button>}
        <Button variant="danger" onClick={() => onOpen({ kind: "remove", member })} aria-label={t("org.members.remove_title", { name: member.name })}>
          {t("org.members.remove")}
        </Button>
      </div>
    </li>
  );
}

function Filters({ role, classId, classes, setRole, setClassId }: { role: string; classId: string; classes: ClassGroup[] | null; setRole: (v: string) => void; setClassId: (v: string) => void }) {
  return (
    <div class="org-form-row">
      <Field id="members-role" label={t("org.field.role")}>
        <select id="members-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          <option value="">{t("org.members.all_roles")}</option>
          {ROLES.map((value) => (
            <option key={value} value={value}>
              {roleLabel(value)}
            </option>
          ))}
        </select>
      </Field>
      <Field id="members-class" label={t("org.field.class")}>
        <select id="members-class" value={classId} onChange={(e) => setClassId(e.currentTarget.value)}>
          <option value="">{t("org.members.all_classes")}</option>
          {classes?.map((cls) => (
            <option key={cls.id} value={cls.id}>
              {cls.name}
            </option>
          ))}
        </select>
      </Field>
    </div>
  );
}

export function MembersTab({ org }: TabProps) {
  const [role, setRole] = useState("");
  const [classId, setClassId] = useState("");
  const [open, setOpen] = useState<Open>(null);
  const classes = useClasses(org.id);
  const everyone = useAllMembers(org.id);
  const directory = useDirectory(org.id, role, classId);
  const refresh = () => (directory.reload(), everyone.reload());
  useOrgEvents(org.id, ["org.member_added", "org.member_updated", "org.member_removed", "parent_link.created", "parent_link.confirmed", "parent_link.deleted"], refresh);
  const close = () => (setOpen(null), refresh());

  return (
    <section class="card stack" aria-labelledby="members-title">
      <div class="org-section-head">
        <h2 id="members-title">{t("org.tab.members")}</h2>
        <Button variant="primary" onClick={() => setOpen({ kind: "add" })}>
          {t("org.members.add")}
        </Button>
      </div>
      <Filters role={role} classId={classId} classes={classes.data} setRole={setRole} setClassId={setClassId} />
      <ErrorText error={directory.error} />
      {!directory.members && !directory.error && <Spinner />}
      {directory.members?.length === 0 && <Empty>{t("org.members.none")}</Empty>}
      <ul class="org-list" aria-label={t("org.tab.members")}>
        {directory.members?.map((member) => (
          <MemberRow key={member.member_id} member={member} classes={classes.data} everyone={everyone.data} onOpen={setOpen} />
        ))}
      </ul>
      {directory.cursor !== null && <Button onClick={() => void directory.more()}>{t("org.more")}</Button>}
      {open?.kind === "add" && <AddMemberDialog orgId={org.id} classes={classes.data ?? []} onClose={close} />}
      {open?.kind === "edit" && <EditMemberDialog orgId={org.id} member={open.member} classes={classes.data ?? []} onClose={close} />}
      {open?.kind === "safe" && <SafeModeDialog orgId={org.id} member={open.member} onClose={close} />}
      {open?.kind === "link" && (
        <LinkParentDialog orgId={org.id} parent={open.member} students={(everyone.data ?? []).filter((m) => m.role === "student")} classes={classes.data} onClose={close} />
      )}
      {open?.kind === "remove" && (
        <ConfirmDialog
          title={t("org.members.remove_title", { name: open.member.name })}
          confirm={t("org.members.remove")}
          onConfirm={() => api("DELETE", `/orgs/${org.id}/members/${open.member.member_id}`)}
          onClose={close}
        >
          <p>{t("org.members.remove_note")}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
