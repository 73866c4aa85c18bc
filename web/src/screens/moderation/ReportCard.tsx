// One report in a moderation queue: what was reported, by whom, why, and the
// decision (buttons while open, the outcome once decided).
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { UserPublic } from "../../api/types";
import { locale, t } from "../../i18n";
import { Button, Dialog, ErrorText, Field } from "../../ui";
import { personName } from "../safety/names";
import { REASON_LABELS } from "../safety/report";
import { DECISION_CONFIRMS, DECISION_LABELS, STATUS_LABELS, applicable, type Decision, type Queue, type QueuedReport } from "./queue";

const NOTE_MAX = 1024;
const EXCERPT_MAX = 400;

function when(iso: string): string {
  return new Date(iso).toLocaleString(locale(), { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

function Person({ user, id }: { user?: UserPublic | null; id?: number | null }) {
  if (user) return <a href={`/users/${user.id}`}>{personName(user)}</a>;
  return <span class="muted">{id ? t("moderation.unknown_person") : "—"}</span>;
}

function Excerpt({ report }: { report: QueuedReport }) {
  const message = report.message;
  if (report.message_id == null) return null;
  if (!message || message.is_deleted) return <p class="moderation__excerpt moderation__excerpt--gone">{t("moderation.message_deleted")}</p>;
  const text = message.text ?? "";
  const short = text.length > EXCERPT_MAX ? `${text.slice(0, EXCERPT_MAX)}…` : text;
  return (
    <blockquote class="moderation__excerpt">
      {short && <p>{short}</p>}
      {message.file && <p class="muted">📎 {message.file.name}</p>}
    </blockquote>
  );
}

function DecisionDialog(props: { queue: Queue; report: QueuedReport; action: Decision; onClose: () => void; onDone: (report: QueuedReport) => void }) {
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function decide(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api("POST", `${props.queue.list}/${props.report.id}/resolve`, { action: props.action, note: note.trim() });
      const status = props.action === "dismiss" ? "dismissed" : "actioned";
      const deleted = props.action === "delete_message" && props.report.message ? { ...props.report.message, is_deleted: true } : props.report.message;
      props.onDone({ ...props.report, status, action: props.action, message: deleted, handled_at: new Date().toISOString() });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title={t(DECISION_LABELS[props.action])} onClose={props.onClose}>
      <form class="stack" onSubmit={decide}>
        <p>{t(DECISION_CONFIRMS[props.action])}</p>
        <Field id="decision-note" label={t("moderation.note")} hint={t("moderation.note_hint")}>
          <textarea id="decision-note" rows={3} maxLength={NOTE_MAX} value={note} onInput={(event) => setNote(event.currentTarget.value)} />
        </Field>
        <ErrorText error={error} />
        <div class="row moderation__dialog-actions">
          <Button variant="ghost" onClick={props.onClose}>
            {t("common.cancel")}
          </Button>
          <Button variant={props.action === "dismiss" ? "primary" : "danger"} type="submit" busy={busy}>
            {t("moderation.confirm_button")}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export function ReportCard({ queue, report, onDecided }: { queue: Queue; report: QueuedReport; onDecided: (report: QueuedReport) => void }) {
  const [action, setAction] = useState<Decision | null>(null);
  const headingId = `report-${report.id}`;
  return (
    <article class="card moderation__report" aria-labelledby={headingId}>
      <header class="moderation__head">
        <h2 id={headingId}>{t(REASON_LABELS[report.reason])}</h2>
        <span class={`badge moderation__status--${report.status}`}>{t(STATUS_LABELS[report.status])}</span>
        <time class="muted" dateTime={report.created_at}>
          {when(report.created_at)}
        </time>
      </header>
      <dl class="moderation__facts">
        <dt>{t("moderation.reporter")}</dt>
        <dd>
          <Person user={report.reporter} id={report.reporter?.id} />
        </dd>
        <dt>{report.message_id != null ? t("moderation.author") : t("moderation.target")}</dt>
        <dd>
          <Person user={report.target} id={report.target_user_id} />
        </dd>
      </dl>
      <Excerpt report={report} />
      {report.comment && (
        <p class="moderation__comment">
          <strong>{t("moderation.comment")}:</strong> {report.comment}
        </p>
      )}
      {report.status === "open" ? (
        <div class="row moderation__actions">
          {applicable(queue, report).map((item) => (
            <Button key={item} variant={item === "dismiss" ? "secondary" : "danger"} onClick={() => setAction(item)}>
              {t(DECISION_LABELS[item])}
            </Button>
          ))}
        </div>
      ) : (
        <p class="muted">
          {t("moderation.decided", {
            action: report.action && report.action in DECISION_LABELS ? t(DECISION_LABELS[report.action as Decision]) : "—",
            when: report.handled_at ? when(report.handled_at) : "",
          })}
        </p>
      )}
      {action && <DecisionDialog queue={queue} report={report} action={action} onClose={() => setAction(null)} onDone={(done) => (setAction(null), onDecided(done))} />}
    </article>
  );
}
