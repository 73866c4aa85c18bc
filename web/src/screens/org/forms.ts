// Checks of the organization forms before sending. The server checks again (INN and
// OGRN check digits, the list of region codes) and its field errors are shown too.
import type { OrgIn } from "../../api/types";
import { t } from "../../i18n";

export type FieldErrors = Record<string, string>;

/** The create/edit form as typed: every field a string. */
export type OrgForm = Record<
  "kind" | "full_name" | "short_name" | "region" | "municipality" | "address" | "inn" | "ogrn" | "phone" | "email" | "website",
  string
>;

export const EMPTY_ORG_FORM: OrgForm = {
  kind: "school",
  full_name: "",
  short_name: "",
  region: "",
  municipality: "",
  address: "",
  inn: "",
  ogrn: "",
  phone: "",
  email: "",
  website: "",
};

export function validateOrgForm(form: OrgForm): FieldErrors {
  const errors: FieldErrors = {};
  const value = (key: keyof OrgForm) => form[key].trim();
  if (!value("full_name")) errors.full_name = t("org.form.required");
  else if (value("full_name").length > 255) errors.full_name = t("org.form.too_long");
  if (!value("short_name")) errors.short_name = t("org.form.required");
  else if (value("short_name").length > 64) errors.short_name = t("org.form.too_long");
  if (!/^\d{2}$/.test(value("region"))) errors.region = t("org.form.region_format");
  if (value("inn") && !/^(\d{10}|\d{12})$/.test(value("inn"))) errors.inn = t("org.form.inn_format");
  if (value("ogrn") && !/^(\d{13}|\d{15})$/.test(value("ogrn"))) errors.ogrn = t("org.form.ogrn_format");
  if (value("email") && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value("email"))) errors.email = t("org.form.email_format");
  return errors;
}

/** The POST /orgs body: trimmed, empty optional fields left out. */
export function orgBody(form: OrgForm): OrgIn {
  const body: Record<string, string> = {};
  for (const [key, raw] of Object.entries(form)) {
    const value = raw.trim();
    if (value) body[key] = value;
  }
  return body as unknown as OrgIn;
}

export type InviteForm = { role: string; class_id: string; expires_days: string; usage_limit: string; requires_approval: boolean };

/** Checks of the invite form; returns field errors. */
export function validateInviteForm(form: InviteForm): FieldErrors {
  const errors: FieldErrors = {};
  if (form.expires_days && !(Number.isInteger(Number(form.expires_days)) && Number(form.expires_days) >= 1 && Number(form.expires_days) <= 365)) {
    errors.expires_days = t("org.invites.days_format");
  }
  if (form.usage_limit && !(Number.isInteger(Number(form.usage_limit)) && Number(form.usage_limit) >= 1)) {
    errors.usage_limit = t("org.invites.limit_format");
  }
  return errors;
}

/** The POST /orgs/{id}/invites body. */
export function inviteBody(form: InviteForm): Record<string, string | number | boolean> {
  const body: Record<string, string | number | boolean> = { role: form.role, requires_approval: form.requires_approval };
  if (form.class_id) body.class_id = Number(form.class_id);
  if (form.expires_days) body.expires_in_seconds = Number(form.expires_days) * 86400;
  if (form.usage_limit) body.usage_limit = Number(form.usage_limit);
  return body;
}
