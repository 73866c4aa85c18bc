// Классы и группы: create ("5А" or a group), rename, delete, a class's teachers and
// its homeroom teacher.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { ClassGroup, OrgMember } from "../../api/types";
import { t } from "../../i18n";
import { Button, Dialog, Empty, ErrorText, Field, Spinner } from "../../ui";
import type { TabProps } from "./Cabinet";
import { ConfirmDialog } from "./ConfirmDialog";
import { memberName, useAllMembers, useClasses } from "./people";

/** "Класс", "Группа", or a kindergarten's "Группа детского сада" (it has only a parents' chat). */
function kindLabel(kind: string): string {
  if (kind === "preschool") return t("org.classes.kind_preschool");
  return kind === "group" ? t("org.classes.kind_group") : t("org.classes.kind_class");
}

function CreateClass({ orgId, isKindergarten, onCreated }: { orgId: number; isKindergarten: boolean; onCreated: () => void }) {
  const [kind, setKind] = useState("class");
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (!name.trim()) return setFieldError(t("org.form.required"));
    setFieldError(null);
    setError(null);
    setBusy(true);
    try {
      await api("POST", `/orgs/${orgId}/classes`, { kind, name: name.trim() });
      setName("");
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card org-inline-form" onSubmit={submit} noValidate aria-labelledby="class-create">
      <h2 id="class-create">{t("org.classes.create")}</h2>
      <div class="org-form-row">
        <Field id="class-kind" label={t("org.classes.kind")}>
          <select id="class-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="class">{isKindergarten ? t("org.classes.kind_preschool") : t("org.classes.kind_class")}</option>
            <option value="group">{t("org.classes.kind_group")}</option>
          </select>
        </Field>
        <Field id="class-name" label={t("org.classes.name")} hint={t("org.classes.name_hint")} error={fieldError}>
          <input id="class-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
      </div>
      <ErrorText error={error} />
      <Button type="submit" variant="primary" busy={busy}>
        {t("org.classes.add")}
      </Button>
    </form>
  );
}

function RenameDialog({ orgId, cls, onClose }: { orgId: number; cls: ClassGroup; onClose: () => void }) {
  const [name, setName] = useState(cls.name);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    try {
      await api("PATCH", `/orgs/${orgId}/classes/${cls.id}`, { name: name.trim() });
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title={t("org.classes.rename_title", { name: cls.name })} onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <Field id="class-rename" label={t("org.classes.name")}>
          <input id="class-rename" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <ErrorText error={error} />
        <Button type="submit" variant="primary" busy={busy}>
          {t("common.save")}
        </Button>
      </form>
    </Dialog>
  );
}

function TeachersDialog(props: { orgId: number; cls: ClassGroup; teachers: OrgMember[]; onChanged: () => void; onClose: () => void }) {
  const { orgId, cls, teachers, onChanged, onClose } = props;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const current = new Set(cls.teacher_member_ids ?? []);

  async function run(key: number, method: "PUT" | "DELETE" | "PATCH", path: string, body?: unknown) {
    setBusy(key);
    setError(null);
    try {
      await api(method, path, body);
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }
  const base = `/orgs/${orgId}/classes/${cls.id}`;
  const toggle = (member: OrgMember) =>
    run(member.member_id, current.has(member.member_id) ? "DELETE" : "PUT", `${base}/teachers/${member.member_id}`);
  const setHomeroom = (value: string) => run(-1, "PATCH", base, { homeroom_member_id: value ? Number(value) : null });

  return (
    <Dialog title={t("org.classes.teachers_title", { name: cls.name })} onClose={onClose}>
      <div class="stack">
        {teachers.length === 0 && <Empty>{t("org.classes.no_teachers")}</Empty>}
        <fieldset class="org-checks">
          <legend>{t("org.classes.teachers")}</legend>
          {teachers.map((member) => (
            <label key={member.member_id} class="org-check">
              <input type="checkbox" checked={current.has(member.member_id)} disabled={busy !== null} onChange={() => void toggle(member)} />
              {member.name}
            </label>
          ))}
        </fieldset>
        {cls.kind === "class" && (
          <Field id="class-homeroom" label={t("org.classes.homeroom")}>
            <select id="class-homeroom" value={cls.homeroom_member_id ?? ""} disabled={busy !== null} onChange={(e) => void setHomeroom(e.currentTarget.value)}>
              <option value="">{t("org.classes.homeroom_none")}</option>
              {teachers
                .filter((member) => current.has(member.member_id))
                .map((member) => (
                  <option key={member.member_id} value={member.member_id}>
                    {member.name}
                  </option>
                ))}
            </select>
          </Field>
        )}
        <ErrorText error={error} />
      </div>
    </Dialog>
  );
}

type Open = { kind: "rename" | "delete" | "teachers"; id: number } | null;

export function ClassesTab({ org }: TabProps) {
  const classes = useClasses(org.id);
  const teachers = useAllMembers(org.id, "teacher");
  const [open, setOpen] = useState<Open>(null);
  const selected = classes.data?.find((item) => item.id === open?.id);
  const close = () => (setOpen(null), classes.reload());

  return (
    <div class="stack">
      <CreateClass orgId={org.id} isKindergarten={org.kind === "kindergarten"} onCreated={classes.reload} />
      <section class="card stack" aria-labelledby="class-list">
        <h2 id="class-list">{t("org.tab.classes")}</h2>
        <ErrorText error={classes.error} />
        {!classes.data && !classes.error && <Spinner />}
        {classes.data?.length === 0 && <Empty>{t("org.classes.none")}</Empty>}
        <ul class="org-list">
          {classes.data?.map((cls) => (
            <li key={cls.id} class="org-row">
              <div>
                <strong>{cls.name}</strong> <span class="muted">{kindLabel(cls.kind)}</span>
                <div class="muted">
                  {t("org.classes.teachers_list", {
                    names: (cls.teacher_member_ids ?? []).map((id) => memberName(teachers.data, id)).join(", ") || "—",
                  })}
                  {cls.homeroom_member_id ? ` · ${t("org.classes.homeroom_is", { name: memberName(teachers.data, cls.homeroom_member_id) })}` : ""}
                </div>
              </div>
              <div class="org-actions">
                <Button onClick={() => setOpen({ kind: "teachers", id: cls.id })}>{t("org.classes.teachers")}</Button>
                <Button onClick={() => setOpen({ kind: "rename", id: cls.id })} aria-label={t("org.classes.rename_title", { name: cls.name })}>
                  {t("org.classes.rename")}
                </Button>
                <Button variant="danger" onClick={() => setOpen({ kind: "delete", id: cls.id })} aria-label={t("org.classes.delete_title", { name: cls.name })}>
                  {t("common.delete")}
                </Button>
              </div>
            </li>
          ))}
        </ul>
      </section>
      {selected && open?.kind === "rename" && <RenameDialog orgId={org.id} cls={selected} onClose={close} />}
      {selected && open?.kind === "teachers" && <TeachersDialog orgId={org.id} cls={selected} teachers={teachers.data ?? []} onChanged={classes.reload} onClose={close} />}
      {selected && open?.kind === "delete" && (
        <ConfirmDialog
          title={t("org.classes.delete_title", { name: selected.name })}
          confirm={t("common.delete")}
          onConfirm={() => api("DELETE", `/orgs/${org.id}/classes/${selected.id}`)}
          onClose={close}
        >
          <p>{t("org.classes.delete_note")}</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
