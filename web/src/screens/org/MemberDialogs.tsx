// The dialogs of the members tab: add by phone, change role/class, safe mode of a
// student, link a parent to a child. Each keeps what was typed when the server refuses.
import { useState } from "preact/hooks";
import { ApiError, api } from "../../api/client";
import type { ClassGroup, OrgMember, OrgRole, SafeModeOut } from "../../api/types";
import { t } from "../../i18n";
import { Button, Dialog, ErrorText, Field } from "../../ui";
import { isCompletePhone, nextPhoneValue } from "../auth/phone";
import { ROLES, roleLabel } from "./common";
import { className } from "./people";

function RoleSelect({ id, value, onChange, roles = ROLES }: { id: string; value: string; onChange: (v: OrgRole) => void; roles?: OrgRole[] }) {
  return (
    <Field id={id} label={t("org.field.role")}>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value as OrgRole)}>
        {roles.map((role) => (
          <option key={role} value={role}>
            {roleLabel(role)}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function ClassSelect({ id, value, classes, onChange, error }: { id: string; value: string; classes: ClassGroup[]; onChange: (v: string) => void; error?: string }) {
  return (
    <Field id={id} label={t("org.field.class")} error={error}>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{t("org.members.no_class")}</option>
        {classes.map((cls) => (
          <option key={cls.id} value={cls.id}>
            {cls.name}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** Runs a dialog's request: field errors under the field, others above the button. */
function useSubmit(onDone: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [field, setField] = useState<Record<string, string>>({});
  async function run(request: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    setField({});
    try {
      await request();
      onDone();
    } catch (err) {
      if (err instanceof ApiError && err.field) setField({ [err.field]: err.message });
      else setError(err);
      setBusy(false);
    }
  }
  return { busy, error, field, setField, run };
}

export function AddMemberDialog({ orgId, classes, onClose }: { orgId: number; classes: ClassGroup[]; onClose: () => void }) {
  const [phone, setPhone] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<OrgRole>("student");
  const [classId, setClassId] = useState("");
  const submit = useSubmit(onClose);

  function send(event: Event) {
    event.preventDefault();
    if (!isCompletePhone(phone)) return submit.setField({ phone: t("auth.phone_incomplete") });
    const body = { phone, role, name: name.trim(), class_id: classId ? Number(classId) : null };
    void submit.run(() => api("POST", `/orgs/${orgId}/members`, body));
  }

  return (
    <Dialog title={t("org.members.add_title")} onClose={onClose}>
      <form class="stack" onSubmit={send} noValidate>
        <Field id="add-phone" label={t("org.field.phone")} error={submit.field.phone}>
          <input id="add-phone" type="tel" inputMode="tel" value={phone} onInput={(e) => setPhone(nextPhoneValue(phone, e.currentTarget.value))} />
        </Field>
        <Field id="add-name" label={t("org.members.name")} hint={t("org.members.name_hint")} error={submit.field.name}>
          <input id="add-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <RoleSelect id="add-role" value={role} onChange={setRole} />
        <ClassSelect id="add-class" value={classId} classes={classes} onChange={setClassId} error={submit.field.class_id} />
        <p class="muted">{t("org.members.add_note")}</p>
        <ErrorText error={submit.error} />
        <Button type="submit" variant="primary" busy={submit.busy}>
          {t("org.members.add_submit")}
        </Button>
      </form>
    </Dialog>
  );
}

export function EditMemberDialog({ orgId, member, classes, onClose }: { orgId: number; member: OrgMember; classes: ClassGroup[]; onClose: () => void }) {
  const [role, setRole] = useState<OrgRole>(member.role);
  const [classId, setClassId] = useState(member.class_id ? String(member.class_id) : "");
  const submit = useSubmit(onClose);

  function send(event: Event) {
    event.preventDefault();
    const body: Record<string, unknown> = {};
    if (role !== member.role) body.role = role;
    if (classId !== (member.class_id ? String(member.class_id) : "")) body.class_id = classId ? Number(classId) : null;
    if (!Object.keys(body).length) return onClose();
    void submit.run(() => api("PATCH", `/orgs/${orgId}/members/${member.member_id}`, body));
  }

  return (
    <Dialog title={t("org.members.edit_title", { name: member.name })} onClose={onClose}>
      <form class="stack" onSubmit={send}>
        <RoleSelect id="edit-role" value={role} onChange={setRole} />
        <ClassSelect id="edit-class" value={classId} classes={classes} onChange={setClassId} error={submit.field.class_id} />
        <ErrorText error={submit.error} />
        <Button type="submit" variant="primary" busy={submit.busy}>
          {t("common.save")}
        </Button>
      </form>
    </Dialog>
  );
}

export function SafeModeDialog({ orgId, member, onClose }: { orgId: number; member: OrgMember; onClose: () => void }) {
  // The directory tells admins the current state; the answer of a change replaces it.
  const [state, setState] = useState<Pick<SafeModeOut, "on"> | null>(
    typeof member.safe_mode === "boolean" ? { on: member.safe_mode } : null,
  );
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function set(enabled: boolean) {
    setBusy(true);
    setError(null);
    try {
      setState(await api<SafeModeOut>("PUT", `/orgs/${orgId}/members/${member.member_id}/safe-mode`, { enabled }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog title={t("org.members.safe_title", { name: member.name })} onClose={onClose}>
      <div class="stack">
        <p class="muted">{t("org.members.safe_note")}</p>
        {state && <p role="status">{state.on ? t("org.members.safe_is_on") : t("org.members.safe_is_off")}</p>}
        <ErrorText error={error} />
        <div class="row">
          <Button busy={busy} onClick={() => void set(true)}>
            {t("org.members.safe_on")}
          </Button>
          <Button busy={busy} onClick={() => void set(false)}>
            {t("org.members.safe_off")}
          </Button>
        </div>
      </div>
    </Dialog>
  );
}

export function LinkParentDialog({ orgId, parent, students, classes, onClose }: { orgId: number; parent: OrgMember; students: OrgMember[]; classes: ClassGroup[] | null; onClose: () => void }) {
  const [child, setChild] = useState("");
  const submit = useSubmit(onClose);
  function send(event: Event) {
    event.preventDefault();
    if (!child) return submit.setField({ child_member_id: t("org.members.child_required") });
    const body = { parent_member_id: parent.member_id, child_member_id: Number(child) };
    void submit.run(() => api("POST", `/orgs/${orgId}/parent-links`, body));
  }
  return (
    <Dialog title={t("org.members.link_title", { name: parent.name })} onClose={onClose}>
      <form class="stack" onSubmit={send} noValidate>
        <Field id="link-child" label={t("org.members.child")} error={submit.field.child_member_id}>
          <select id="link-child" value={child} onChange={(e) => setChild(e.currentTarget.value)}>
            <option value="">{t("org.members.child_choose")}</option>
            {students.map((student) => (
              <option key={student.member_id} value={student.member_id}>
                {student.name}
                {student.class_id ? ` (${className(classes, student.class_id)})` : ""}
              </option>
            ))}
          </select>
        </Field>
        <p class="muted">{t("org.members.link_note")}</p>
        <ErrorText error={submit.error} />
        <Button type="submit" variant="primary" busy={submit.busy}>
          {t("org.members.link_submit")}
        </Button>
      </form>
    </Dialog>
  );
}
