// Checks of the profile form before it goes to the server (which checks again).
import { t } from "../../i18n";

export type ProfileValues = { first_name: string; last_name: string; birth_date: string | null };
export type ProfileErrors = Partial<Record<keyof ProfileValues | string, string>>;

const MAX_NAME = 64;

/** Field errors of the profile form; empty when it may be sent. */
export function validateProfile(values: ProfileValues, today: Date): ProfileErrors {
  const errors: ProfileErrors = {};
  if (!values.first_name) errors.first_name = t("auth.first_name_required");
  else if (values.first_name.length > MAX_NAME) errors.first_name = t("auth.name_too_long");
  if (values.last_name.length > MAX_NAME) errors.last_name = t("auth.name_too_long");
  if (values.birth_date) {
    const date = new Date(`${values.birth_date}T00:00:00Z`);
    if (Number.isNaN(date.getTime()) || date.getTime() > today.getTime() || date.getUTCFullYear() < 1900) {
      errors.birth_date = t("auth.birth_date_invalid");
    }
  }
  return errors;
}

/** The PATCH /me body: empty optional fields are left out (the server refuses an empty last name). */
export function profileBody(values: ProfileValues): Record<string, string> {
  const body: Record<string, string> = { first_name: values.first_name };
  if (values.last_name) body.last_name = values.last_name;
  if (values.birth_date) body.birth_date = values.birth_date;
  return body;
}
