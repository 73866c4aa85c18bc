// Creating an organization: the creator becomes its admin. INN and OGRN are optional
// (a verified badge needs them later); the server checks their check digits.
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { ApiError, api } from "../../api/client";
import type { Org } from "../../api/types";
import { t, type TextKey } from "../../i18n";
import { Button, ErrorText, Field } from "../../ui";
import { KINDS, kindLabel } from "./common";
import { EMPTY_ORG_FORM, orgBody, validateOrgForm, type FieldErrors, type OrgForm } from "./forms";

type TextField = { key: Exclude<keyof OrgForm, "kind">; label: TextKey; hint?: TextKey; type?: string; inputMode?: "numeric" | "email" | "tel" | "url" };

export const ORG_FIELDS: TextField[] = [
  { key: "full_name", label: "org.field.full_name", hint: "org.field.full_name_hint" },
  { key: "short_name", label: "org.field.short_name", hint: "org.field.short_name_hint" },
  { key: "region", label: "org.field.region", hint: "org.field.region_hint", inputMode: "numeric" },
  { key: "municipality", label: "org.field.municipality" },
  { key: "address", label: "org.field.address" },
  { key: "inn", label: "org.field.inn", hint: "org.field.inn_hint", inputMode: "numeric" },
  { key: "ogrn", label: "org.field.ogrn", inputMode: "numeric" },
  { key: "phone", label: "org.field.phone", type: "tel", inputMode: "tel" },
  { key: "email", label: "org.field.email", type: "email", inputMode: "email" },
  { key: "website", label: "org.field.website", type: "url", inputMode: "url" },
];

/** The text inputs of the org form, with their errors; shared by create and edit. */
export function OrgFields({ form, errors, set, prefix, disabled }: { form: OrgForm; errors: FieldErrors; set: (key: keyof OrgForm, value: string) => void; prefix: string; disabled?: boolean }) {
  return (
    <>
      {ORG_FIELDS.map((field) => {
        const id = `${prefix}-${field.key}`;
        return (
          <Field key={field.key} id={id} label={t(field.label)} hint={field.hint && t(field.hint)} error={errors[field.key]}>
            <input
              id={id}
              type={field.type ?? "text"}
              inputMode={field.inputMode}
              value={form[field.key]}
              disabled={disabled}
              aria-invalid={errors[field.key] ? "true" : undefined}
              onInput={(e) => set(field.key, e.currentTarget.value)}
            />
          </Field>
        );
      })}
    </>
  );
}

/** Puts a server error under its field when it names one; returns whether it did. */
export function fieldError(err: unknown, setErrors: (errors: FieldErrors) => void): boolean {
  if (err instanceof ApiError && err.field) {
    setErrors({ [err.field]: err.message });
    return true;
  }
  return false;
}

export function CreateOrg({ onCancel }: { onCancel: () => void }) {
  const { route } = useLocation();
  const [form, setForm] = useState<OrgForm>(EMPTY_ORG_FORM);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (key: keyof OrgForm, value: string) => setForm((old) => ({ ...old, [key]: value }));

  async function submit(event: Event) {
    event.preventDefault();
    const found = validateOrgForm(form);
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      const org = await api<Org>("POST", "/orgs", orgBody(form));
      route(`/orgs/${org.id}`);
    } catch (err) {
      if (!fieldError(err, setErrors)) setError(err);
      setBusy(false);
    }
  }

  return (
    <form class="card stack" onSubmit={submit} noValidate aria-labelledby="org-create">
      <h2 id="org-create">{t("org.create.title")}</h2>
      <p class="muted">{t("org.create.lead")}</p>
      <Field id="org-create-kind" label={t("org.field.kind")}>
        <select id="org-create-kind" value={form.kind} onChange={(e) => set("kind", e.currentTarget.value)}>
          {KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {kindLabel(kind)}
            </option>
          ))}
        </select>
      </Field>
      <OrgFields form={form} errors={errors} set={set} prefix="org-create" />
      <ErrorText error={error} />
      <div class="row">
        <Button type="submit" variant="primary" busy={busy}>
          {t("org.create.submit")}
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          {t("common.cancel")}
        </Button>
      </div>
    </form>
  );
}
