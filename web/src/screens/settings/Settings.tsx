// Settings: profile and avatar, language, own safe mode, devices (sessions), sign out.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Me } from "../../api/types";
import { lang, setLang, t, type Lang } from "../../i18n";
import { refreshMe, signOut, useMe } from "../../store/session";
import { ImagePicker } from "../../ui/ImagePicker";
import { Avatar, Button, ErrorText, Field, Spinner } from "../../ui";
import { profileBody, validateProfile, type ProfileErrors } from "../auth/profile";
import { BlockedList } from "../safety";
import { SafeModeCard } from "./SafeModeCard";
import { SessionsCard } from "./SessionsCard";
import "./settings.css";

function AvatarPicker({ me }: { me: Me }) {
  const name = `${me.first_name} ${me.last_name}`.trim();
  return (
    <div class="settings__avatar">
      <Avatar name={name} fileId={me.avatar_file_id} size={72} />
      <ImagePicker<Me>
        path="/me/avatar"
        label={t("settings.avatar_change")}
        progressLabel={t("settings.avatar_uploading")}
        buttonClass="settings__file"
        onUploaded={async () => void (await refreshMe())}
      />
    </div>
  );
}

function ProfileCard({ me }: { me: Me }) {
  const [firstName, setFirstName] = useState(me.first_name);
  const [lastName, setLastName] = useState(me.last_name);
  const [errors, setErrors] = useState<ProfileErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const values = { first_name: firstName.trim(), last_name: lastName.trim(), birth_date: null };
    const found = validateProfile(values, new Date());
    setErrors(found);
    setSaved(false);
    if (Object.keys(found).length) return;
    setBusy(true);
    setError(null);
    try {
      await api("PATCH", "/me", profileBody(values));
      await refreshMe();
      setSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card stack" aria-labelledby="settings-profile">
      <h2 id="settings-profile">{t("settings.profile")}</h2>
      <AvatarPicker me={me} />
      <form onSubmit={submit} noValidate>
        <Field id="settings-first" label={t("auth.first_name")} error={errors.first_name}>
          <input id="settings-first" autoComplete="given-name" value={firstName} onInput={(e) => setFirstName(e.currentTarget.value)} />
        </Field>
        <Field id="settings-last" label={t("auth.last_name")} error={errors.last_name}>
          <input id="settings-last" autoComplete="family-name" value={lastName} onInput={(e) => setLastName(e.currentTarget.value)} />
        </Field>
        <p class="muted">{t("settings.phone", { phone: me.phone })}</p>
        <ErrorText error={error} />
        <div class="row">
          <Button type="submit" variant="primary" busy={busy}>
            {t("common.save")}
          </Button>
          {saved && <span role="status">{t("settings.saved")}</span>}
        </div>
      </form>
    </section>
  );
}

function LanguageCard() {
  return (
    <section class="card" aria-labelledby="settings-lang">
      <h2 id="settings-lang">{t("lang.label")}</h2>
      <Field id="settings-lang-select" label={t("settings.language_choose")}>
        <select id="settings-lang-select" value={lang()} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
          <option value="ru">{t("lang.ru")}</option>
          <option value="en">{t("lang.en")}</option>
        </select>
      </Field>
    </section>
  );
}

export default function Settings() {
  const me = useMe();
  const [leaving, setLeaving] = useState(false);
  if (!me) return <Spinner />;
  return (
    <div class="page">
      <div class="page--narrow stack">
        <h1>{t("settings.title")}</h1>
        <ProfileCard me={me} />
        <LanguageCard />
        <SafeModeCard />
        <SessionsCard />
        <div class="card">
          <BlockedList />
        </div>
        <section class="card stack" aria-labelledby="settings-help">
          <h2 id="settings-help">{t("settings.help")}</h2>
          <ul class="settings__links">
            <li><a href="/help">{t("settings.help_link")}</a></li>
            <li><a href="/help/safety">{t("settings.help_safety")}</a></li>
          </ul>
        </section>
        <Button variant="danger" busy={leaving} onClick={() => (setLeaving(true), void signOut())}>
          {t("settings.sign_out")}
        </Button>
      </div>
    </div>
  );
}
