// The first screen when signed out: phone → code → signed in. Eager (part of the
// first bundle), so it imports nothing big.
import { useRef, useState } from "preact/hooks";
import { ApiError, api } from "../../api/client";
import type { CodeSent, TokenOut } from "../../api/types";
import { started } from "../../boot";
import { lang, setLang, t, type Lang } from "../../i18n";
import { signedIn } from "../../store/session";
import { Button, ErrorText, Field } from "../../ui";
import { formatSeconds, useCountdown } from "./countdown";
import { deviceName } from "./device";
import { isCompletePhone, nextPhoneValue } from "./phone";
import "./auth.css";

const CODE_LENGTH = 6;

/** Russian/English switch; reloads the page in the chosen language. */
export function LanguageSwitch() {
  const current = lang();
  const choose = (value: Lang) => value !== current && setLang(value);
  return (
    <div class="auth__lang" role="group" aria-label={t("lang.label")}>
      {(["ru", "en"] as const).map((value) => (
        <button key={value} type="button" class="btn btn--ghost" aria-pressed={value === current} onClick={() => choose(value)}>
          {t(value === "ru" ? "lang.ru" : "lang.en")}
        </button>
      ))}
    </div>
  );
}

/** A refused code request (429) carries when to try again: keep the countdown going. */
function retryMoment(error: unknown): number | null {
  if (error instanceof ApiError && error.retryAfter !== undefined) return Date.now() + error.retryAfter * 1000;
  return null;
}

function PhoneStep({ onSent }: { onSent: (sent: CodeSent, typed: string) => void }) {
  const [phone, setPhone] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const wait = useCountdown(retryAt);

  async function submit(event: Event) {
    event.preventDefault();
    if (!isCompletePhone(phone)) return setFieldError(t("auth.phone_incomplete"));
    setFieldError(null);
    setError(null);
    setBusy(true);
    try {
      onSent(await api<CodeSent>("POST", "/auth/code", { phone }), phone);
    } catch (err) {
      setError(err);
      setRetryAt(retryMoment(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="stack" onSubmit={submit} noValidate>
      <Field id="auth-phone" label={t("auth.phone")} hint={t("auth.phone_hint")} error={fieldError}>
        <input
          id="auth-phone"
          type="tel"
          inputMode="tel"
          autoComplete="tel"
          placeholder="+7 (900) 000-00-00"
          value={phone}
          aria-invalid={fieldError ? "true" : undefined}
          aria-describedby={fieldError ? "auth-phone-error" : "auth-phone-hint"}
          onInput={(event) => setPhone(nextPhoneValue(phone, event.currentTarget.value))}
        />
      </Field>
      <ErrorText error={error} />
      {wait > 0 && <p class="muted" aria-live="polite">{t("auth.retry_in", { time: formatSeconds(wait) })}</p>}
      <Button type="submit" variant="primary" busy={busy} disabled={wait > 0} class="auth__submit">
        {t("auth.get_code")}
      </Button>
    </form>
  );
}

function CodeStep({ sent, typed, onBack }: { sent: CodeSent; typed: string; onBack: () => void }) {
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [resendAt, setResendAt] = useState(() => Date.now() + sent.resend_after * 1000);
  const [resent, setResent] = useState(false);
  const wait = useCountdown(resendAt);
  const input = useRef<HTMLInputElement>(null);

  async function verify(value: string) {
    setError(null);
    setBusy(true);
    try {
      const body = { phone: sent.phone, code: value, device_name: deviceName(navigator.userAgent) };
      const result = await api<TokenOut>("POST", "/auth/token", body);
      // The profile, the socket and the chat list are fetched in parallel: on a slow
      // link each round trip costs seconds.
      const profile = signedIn(result.token);
      started();
      await profile;
    } catch (err) {
      setError(err);
      setBusy(false);
      input.current?.focus();
    }
  }

  async function resend() {
    setError(null);
    try {
      const again = await api<CodeSent>("POST", "/auth/code", { phone: sent.phone });
      setResendAt(Date.now() + again.resend_after * 1000);
      setResent(true);
    } catch (err) {
      setError(err);
      setResendAt(retryMoment(err) ?? resendAt);
    }
  }

  function onInput(value: string) {
    const digits = value.replace(/\D/g, "").slice(0, CODE_LENGTH);
    setCode(digits);
    // A complete code (typed or filled in from the SMS) is sent at once.
    if (digits.length === CODE_LENGTH && !busy) void verify(digits);
  }

  return (
    <form class="stack" onSubmit={(event) => (event.preventDefault(), void verify(code))} noValidate>
      <p>
        {t("auth.code_sent_to")} <strong class="auth__phone">{typed}</strong>{" "}
        <button type="button" class="link-btn" onClick={onBack}>
          {t("auth.change_phone")}
        </button>
      </p>
      <Field id="auth-code" label={t("auth.code")} hint={t("auth.code_hint")}>
        <input
          ref={input}
          id="auth-code"
          class="auth__code"
          type="text"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]*"
          maxLength={CODE_LENGTH}
          value={code}
          autoFocus
          aria-describedby="auth-code-hint"
          onInput={(event) => onInput(event.currentTarget.value)}
        />
      </Field>
      <ErrorText error={error} />
      {resent && wait > 0 && <p class="muted" role="status">{t("auth.code_resent")}</p>}
      <Button type="submit" variant="primary" busy={busy} disabled={code.length !== CODE_LENGTH} class="auth__submit">
        {t("auth.sign_in")}
      </Button>
      <Button variant="ghost" disabled={wait > 0} onClick={() => void resend()}>
        {wait > 0 ? t("auth.resend_in", { time: formatSeconds(wait) }) : t("auth.resend")}
      </Button>
    </form>
  );
}

export default function SignIn() {
  const [sent, setSent] = useState<{ sent: CodeSent; typed: string } | null>(null);
  return (
    <main class="auth">
      <div class="auth__card card">
        <p class="auth__brand" aria-hidden="true">
          {t("app.name")}
        </p>
        <h1>{t("auth.title")}</h1>
        <p class="muted">{t("auth.lead")}</p>
        {sent ? (
          <CodeStep sent={sent.sent} typed={sent.typed} onBack={() => setSent(null)} />
        ) : (
          <PhoneStep onSent={(value, typed) => setSent({ sent: value, typed })} />
        )}
      </div>
      <LanguageSwitch />
    </main>
  );
}
