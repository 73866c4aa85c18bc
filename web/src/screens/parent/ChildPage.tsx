// One child's page for a parent: safe mode, approved contacts, contacts and chats.
import { useEffect, useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { api } from "../../api/client";
import { t } from "../../i18n";
import { Avatar, ErrorText, Spinner } from "../../ui";
import { personName } from "../safety/names";
import { ChildChats } from "./ChildChats";
import { ApprovedContacts, Contacts, useContacts } from "./Contacts";
import { safeModeText, schoolsText, useChildren, type Child, type SafeMode } from "./children";

function SafeModeSection({ child, onChanged }: { child: Child; onChanged: (safeMode: SafeMode) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const on = child.safe_mode.on;
  async function toggle() {
    setBusy(true);
    setError(null);
    try {
      onChanged(await api<SafeMode>("PUT", `/children/${child.user.id}/safe-mode`, { enabled: !on }));
    } catch (err) {
      setError(err); // e.g. under 14: the server's own explanation
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="card stack" aria-labelledby="safe-title">
      <h2 id="safe-title">{t("parent.safe.title")}</h2>
      <div class="parent__switch-row">
        <button
          type="button"
          role="switch"
          class="switch"
          aria-checked={on}
          aria-describedby="safe-state"
          disabled={busy}
          aria-busy={busy ? "true" : undefined}
          onClick={() => void toggle()}
        >
          <span class="switch__track" aria-hidden="true">
            <span class="switch__thumb" />
          </span>
          <span>{t("parent.safe.switch")}</span>
        </button>
        <span id="safe-state" class={on ? "parent__safe parent__safe--on" : "parent__safe"} aria-live="polite">
          {safeModeText(child.safe_mode)}
        </span>
      </div>
      {/* After a refused switch the server's own reason says the same, once is enough. */}
      {child.safe_mode.locked && !error && <p class="muted">{t("parent.safe.locked")}</p>}
      <ErrorText error={error} />
      <details class="parent__explain">
        <summary>{t("parent.safe.what")}</summary>
        <ul>
          <li>{t("parent.safe.what_circle")}</li>
          <li>{t("parent.safe.what_strangers")}</li>
          <li>{t("parent.safe.what_not_read")}</li>
          <li>{t("parent.safe.what_age")}</li>
        </ul>
        <a href="/help/safety">{t("parent.help_link")}</a>
      </details>
    </section>
  );
}

function ChildBody({ child, setSafeMode }: { child: Child; setSafeMode: (id: number, safeMode: SafeMode) => void }) {
  const name = personName(child.user);
  const contacts = useContacts(child.user.id);
  useEffect(() => {
    document.title = `${name} — ${t("app.name")}`;
  }, [name]);
  return (
    <div class="stack">
      <a class="parent__back" href="/children">
        ← {t("parent.title")}
      </a>
      <header class="parent__header">
        <Avatar name={name} fileId={child.user.avatar_file_id} size={56} />
        <div>
          <h1>{name}</h1>
          {child.schools.length > 0 && <p class="muted">{schoolsText(child)}</p>}
        </div>
      </header>
      <SafeModeSection child={child} onChanged={(safeMode) => setSafeMode(child.user.id, safeMode)} />
      <ApprovedContacts childId={child.user.id} contacts={contacts} />
      <Contacts contacts={contacts} />
      <ChildChats childId={child.user.id} />
    </div>
  );
}

export function ChildPage() {
  const { params } = useRoute();
  const { children, error, setSafeMode } = useChildren();
  const childId = Number(params.childId);
  let body;
  if (children === null) body = error ? <ErrorText error={error} /> : <Spinner />;
  else {
    const child = children.find((item) => item.user.id === childId);
    body = child ? <ChildBody child={child} setSafeMode={setSafeMode} /> : <p class="empty">{t("parent.child_not_found")}</p>;
  }
  return <div class="page page--narrow parent">{body}</div>;
}
