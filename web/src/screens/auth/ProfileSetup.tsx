// After the first sign-in: a name (required before chatting) and, optionally, the
// birth date, which turns on safe mode for children under 14.
import { useState } from "preact/hooks";
import { ApiError, api } from "../../api/client";
import { t } from "../../i18n";
import { refreshMe, signOut, useMe } from "../../store/session";
import { Button, ErrorText, Field } from "../../ui";
import { LanguageSwitch } from "./SignIn";
import { profileBody, validateProfile, type ProfileErrors } from "./profile";
import "./auth.css";

export default function ProfileSetup() {
  const me = useMe();
  const [firstName, setFirstName] = useState(me?.first_name ?? "");
  const [lastName, setLastName] = useState(me?.last_name ?? "");
  const [birthDate, setBirthDate] = useState(me?.birth_date ?? "");
  const [errors, setErrors] = useState<ProfileErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const values = { first_name: firstName.trim(), last_name: lastName.trim(), birth_date: birthDate || null };
    const found = validateProfile(values, new Date());
    setErrors(found);
    if (Object.keys(found).length) return;
    setError(null);
    setBusy(true);
    try {
      await api("PATCH", "/me", profileBody(values));
      await refreshMe();
    } catch (err) {
      // A field the server refused goes under that field; anything else above the button.
      if (err instanceof ApiError && err.field) setErrors({ [err.field]: err.message });
      else setError(err);
      setBusy(false);
    }
  }

  return (
    <main class="auth">
      <form class="auth__card card stack" onSubmit={submit} noValidate>
        <h1>{t("auth.profile_title")}</h1>
        <p class="muted">{t("auth.profile_lead")}</p>
        <Field id="profile-first" label={t("auth.first_name")} error={errors.first_name}>
          <input id="profile-first" autoComplete="given-name" required value={firstName} onInput={(e) => setFirstName(e.currentTarget.value)} />
        </Field>
        <Field id="profile-last" label={t("auth.last_name")} error={errors.last_name}>
          <input id="profile-last" autoComplete="family-name" value={lastName} onInput={(e) => setLastName(e.currentTarget.value)} />
        </Field>
        <Field id="profile-birth" label={t("auth.birth_date")} hint={t("auth.birth_date_why")} error={errors.birth_date}>
          <input
            id="profile-birth"
            type="date"
            autoComplete="bday"
            value={birthDate}
            aria-describedby="profile-birth-hint"
            onInput={(e) => setBirthDate(e.currentTarget.value)}
          />
        </Field>
        <ErrorText error={error} />
        <Button type="submit" variant="primary" busy={busy} class="auth__submit">
          {t("auth.profile_done")}
        </Button>
        <Button variant="ghost" onClick={() => void signOut()}>
          {t("auth.sign_out")}
        </Button>
      </form>
      <LanguageSwitch />
    </main>
  );
}
