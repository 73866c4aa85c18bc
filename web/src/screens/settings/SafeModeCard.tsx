// One's own safe mode: its state, why it is on, and the switch (a child can turn it
// on but not off; under 14 it is locked on).
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { SafeModeOut } from "../../api/types";
import { t, type TextKey } from "../../i18n";
import { refreshMe, useMe } from "../../store/session";
import { Button, ErrorText } from "../../ui";

const REASONS: Record<string, TextKey> = {
  age: "settings.safe_reason_age",
  parent: "settings.safe_reason_parent",
  school: "settings.safe_reason_school",
  self: "settings.safe_reason_self",
};

export function SafeModeCard() {
  const me = useMe();
  const [state, setState] = useState<SafeModeOut | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const current = state ?? me?.safe_mode;
  if (!current) return null;

  async function toggle(enabled: boolean) {
    setBusy(true);
    setError(null);
    try {
      setState(await api<SafeModeOut>("PUT", "/me/safe-mode", { enabled }));
      await refreshMe();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const reason = current.reason ? REASONS[current.reason] : undefined;
  return (
    <section class="card stack" aria-labelledby="settings-safe">
      <h2 id="settings-safe">{t("settings.safe_mode")}</h2>
      <p>
        <span class={`badge ${current.on ? "" : "badge--off"}`}>{current.on ? t("settings.safe_on") : t("settings.safe_off")}</span>{" "}
        {reason && t(reason)}
      </p>
      <p class="muted">{t("settings.safe_about")}</p>
      {current.locked && <p class="muted">{t("settings.safe_locked")}</p>}
      <ErrorText error={error} />
      {!current.on && (
        <Button busy={busy} onClick={() => void toggle(true)}>
          {t("settings.safe_turn_on")}
        </Button>
      )}
      {current.on && !current.locked && (
        <Button busy={busy} onClick={() => void toggle(false)}>
          {t("settings.safe_turn_off")}
        </Button>
      )}
    </section>
  );
}
