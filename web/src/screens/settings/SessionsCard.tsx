// The devices signed in to this account: which one is this, sign one out, or all
// the others at once.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { SessionInfo, SessionList } from "../../api/types";
import { locale, plural, t } from "../../i18n";
import { Button, ErrorText, Spinner } from "../../ui";

function when(iso: string): string {
  return new Date(iso).toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });
}

export function SessionsCard() {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<number | "others" | null>(null);
  const [notice, setNotice] = useState("");

  async function load() {
    try {
      setSessions((await api<SessionList>("GET", "/sessions")).sessions);
    } catch (err) {
      setError(err);
    }
  }
  useEffect(() => void load(), []);

  async function run(key: number | "others", action: () => Promise<void>) {
    setBusy(key);
    setError(null);
    try {
      await action();
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  const signOutOne = (id: number) => run(id, () => api("DELETE", `/sessions/${id}`));
  const signOutOthers = () =>
    run("others", async () => {
      const { revoked } = await api<{ revoked: number }>("DELETE", "/sessions");
      setNotice(plural(revoked, "settings.sessions_revoked"));
    });

  const others = sessions?.filter((s) => !s.is_current).length ?? 0;
  return (
    <section class="card stack" aria-labelledby="settings-sessions">
      <h2 id="settings-sessions">{t("settings.sessions")}</h2>
      {!sessions && !error && <Spinner />}
      {sessions && (
        <ul class="settings__sessions" aria-label={t("settings.sessions")}>
          {sessions.map((session) => (
            <li key={session.id} class="settings__session">
              <div>
                <strong>{session.device_name || t("settings.device_unknown")}</strong>
                {session.is_current && <span class="badge">{t("settings.this_device")}</span>}
                <div class="muted">{t("settings.last_seen", { when: when(session.last_seen_at) })}</div>
              </div>
              {!session.is_current && (
                <Button
                  busy={busy === session.id}
                  aria-label={t("settings.sign_out_device", { name: session.device_name })}
                  onClick={() => void signOutOne(session.id)}
                >
                  {t("settings.sign_out_short")}
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
      <ErrorText error={error} />
      {notice && <p role="status">{notice}</p>}
      <Button disabled={others === 0} busy={busy === "others"} onClick={() => void signOutOthers()}>
        {t("settings.sign_out_others")}
      </Button>
    </section>
  );
}
