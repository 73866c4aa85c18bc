// Сведения: the organization's card, its logo and the verification state.
import { ImagePicker } from "../../ui/ImagePicker";
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Org } from "../../api/types";
import { t } from "../../i18n";
import { Button, ErrorText } from "../../ui";
import type { TabProps } from "./Cabinet";
import { formatDate, kindLabel } from "./common";
import { OrgFields, fieldError } from "./CreateOrg";
import { validateOrgForm, type FieldErrors, type OrgForm } from "./forms";

function formOf(org: Org): OrgForm {
  return {
    kind: org.kind,
    full_name: org.full_name,
    short_name: org.short_name,
    region: org.region,
    municipality: org.municipality ?? "",
    address: org.address ?? "",
    inn: org.inn ?? "",
    ogrn: org.ogrn ?? "",
    phone: org.phone ?? "",
    email: org.email ?? "",
    website: org.website ?? "",
  };
}

/** What changed, as a PATCH body (an emptied optional field is sent as null to clear it). */
function patchOf(org: Org, form: OrgForm): Record<string, string | null> {
  const before = formOf(org);
  const body: Record<string, string | null> = {};
  for (const key of Object.keys(form) as (keyof OrgForm)[]) {
    if (key === "kind" || form[key].trim() === before[key]) continue;
    body[key] = form[key].trim() || null;
  }
  return body;
}

function Verification({ org }: { org: Org }) {
  if (org.is_verified) {
    return (
      <p>
        <span class="badge org-verified">{t("org.verified")}</span> {t("org.info.verified_since", { date: formatDate(org.verified_at) })}
      </p>
    );
  }
  return <p class="muted">{t("org.info.not_verified")}</p>;
}

/** The card as members see it (read-only). */
export function OrgInfoView({ org }: { org: Org }) {
  const rows: [string, string | null | undefined][] = [
    [t("org.field.full_name"), org.full_name],
    [t("org.field.kind"), kindLabel(org.kind)],
    [t("org.field.region"), org.region],
    [t("org.field.municipality"), org.municipality],
    [t("org.field.address"), org.address],
    [t("org.field.phone"), org.phone],
    [t("org.field.email"), org.email],
    [t("org.field.website"), org.website],
  ];
  return (
    <section class="card stack" aria-labelledby="org-info">
      <h2 id="org-info">{t("org.tab.info")}</h2>
      <Verification org={org} />
      <dl class="org-dl">
        {rows
          .filter(([, value]) => value)
          .map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
      </dl>
    </section>
  );
}

function LogoUpload({ org, onOrgChange }: TabProps) {
  return (
    <ImagePicker<Org>
      path={`/orgs/${org.id}/logo`}
      label={t("org.info.logo")}
      progressLabel={t("org.info.logo_uploading")}
      buttonClass="org-file"
      onUploaded={onOrgChange}
    />
  );
}

export function InfoTab({ org, onOrgChange }: TabProps) {
  const [form, setForm] = useState<OrgForm>(() => formOf(org));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const set = (key: keyof OrgForm, value: string) => (setForm((old) => ({ ...old, [key]: value })), setSaved(false));

  async function submit(event: Event) {
    event.preventDefault();
    const found = validateOrgForm(form);
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      const updated = await api<Org>("PATCH", `/orgs/${org.id}`, patchOf(org, form));
      onOrgChange(updated);
      setSaved(true);
    } catch (err) {
      if (!fieldError(err, setErrors)) setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card stack" aria-labelledby="org-info-edit">
      <h2 id="org-info-edit">{t("org.tab.info")}</h2>
      <Verification org={org} />
      <LogoUpload org={org} onOrgChange={onOrgChange} />
      <form onSubmit={submit} noValidate>
        <OrgFields form={form} errors={errors} set={set} prefix="org-edit" />
        <ErrorText error={error} />
        <div class="row">
          <Button type="submit" variant="primary" busy={busy}>
            {t("common.save")}
          </Button>
          {saved && <span role="status">{t("org.saved")}</span>}
        </div>
      </form>
    </section>
  );
}
