// Safety actions usable from any message or profile: report, block, and my block
// list. Their props are the contract other screens (chat extras, settings) rely on.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Schemas } from "../../api/client";
import { t } from "../../i18n";
import { Avatar, Button, Dialog, Empty, ErrorText, Field, Spinner } from "../../ui";
import { applyBlocked, applyUnblocked, useBlocks, type Block } from "./blocks";
import { personName } from "./names";
import { COMMENT_MAX, REASONS, REASON_LABELS, checkReport, reportBody, type ReportProblem, type ReportReason } from "./report";
import "./safety.css";

/** Report a message or a person to the school's admins (reason, comment). */
export function ReportDialog({ messageId, userId, onClose }: { messageId?: number; userId?: number; onClose: () => void }) {
  const [sent, setSent] = useState(false);
  const title = messageId !== undefined ? t("safety.report.title_message") : t("safety.report.title_user");
  return (
    <Dialog title={title} onClose={onClose}>
      {sent ? (
        <div class="stack" role="status" aria-live="polite">
          <p>{t("safety.report.thanks")}</p>
          <p class="muted">{t("safety.report.thanks_detail")}</p>
          <Button variant="primary" onClick={onClose}>
            {t("common.close")}
          </Button>
        </div>
      ) : (
        <ReportForm messageId={messageId} userId={userId} onSent={() => setSent(true)} onCancel={onClose} />
      )}
    </Dialog>
  );
}

function ReportForm(props: { messageId?: number; userId?: number; onSent: () => void; onCancel: () => void }) {
  const [reason, setReason] = useState<ReportReason | null>(null);
  const [comment, setComment] = useState("");
  const [problem, setProblem] = useState<ReportProblem | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const found = checkReport({ reason, comment });
    setProblem(found);
    if (found || !reason) return;
    setBusy(true);
    setError(null);
    try {
      await api("POST", "/reports", reportBody({ reason, comment }, props));
      props.onSent();
    } catch (err) {
      setError(err); // the form keeps its values: nothing typed is lost
    } finally {
      setBusy(false);
    }
  }

  const reasonError = problem?.field === "reason" ? t(problem.key) : null;
  const commentError = problem?.field === "comment" ? t(problem.key, { max: COMMENT_MAX }) : null;
  return (
    <form class="report-form" onSubmit={submit} noValidate>
      <fieldset class="report-form__reasons" aria-describedby={reasonError ? "report-reason-error" : undefined}>
        <legend>{t("safety.report.reason")}</legend>
        {REASONS.map((value) => (
          <label key={value} class="report-form__reason">
            <input type="radio" name="reason" value={value} checked={reason === value} onChange={() => setReason(value)} />
            <span>{t(REASON_LABELS[value])}</span>
          </label>
        ))}
        {reasonError && (
          <small class="field__error" id="report-reason-error" role="alert">
            {reasonError}
          </small>
        )}
      </fieldset>
      <Field id="report-comment" label={t("safety.report.comment")} hint={t("safety.report.comment_hint")} error={commentError}>
        <textarea
          id="report-comment"
          rows={3}
          maxLength={COMMENT_MAX}
          value={comment}
          aria-invalid={commentError ? "true" : undefined}
          aria-describedby={commentError ? "report-comment-error" : "report-comment-hint"}
          onInput={(event) => setComment(event.currentTarget.value)}
        />
      </Field>
      <ErrorText error={error} />
      <div class="row report-form__actions">
        <Button variant="ghost" onClick={props.onCancel}>
          {t("common.cancel")}
        </Button>
        <Button variant="primary" type="submit" busy={busy}>
          {t("safety.report.send")}
        </Button>
      </div>
    </form>
  );
}

/** Block / unblock a person (with a confirmation explaining what blocking does). */
export function BlockToggle({ userId, onChanged }: { userId: number; onChanged?: (blocked: boolean) => void }) {
  const { blocks, error: loadError } = useBlocks();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (blocks === null) return loadError ? <ErrorText error={loadError} /> : <Spinner />;
  const blocked = blocks.some((block) => block.user.id === userId);

  async function change(next: boolean) {
    setBusy(true);
    setError(null);
    try {
      if (next) applyBlocked(await api<Block>("PUT", `/me/blocks/${userId}`));
      else {
        await api("DELETE", `/me/blocks/${userId}`);
        applyUnblocked(userId);
      }
      setConfirming(false);
      onChanged?.(next);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      {blocked ? (
        <Button busy={busy} onClick={() => void change(false)}>
          {t("safety.block.unblock")}
        </Button>
      ) : (
        <Button variant="danger" onClick={() => setConfirming(true)}>
          {t("safety.block.block")}
        </Button>
      )}
      {!confirming && <ErrorText error={error} />}
      {confirming && (
        <Dialog title={t("safety.block.confirm_title")} onClose={() => setConfirming(false)}>
          <div class="stack">
            <p>{t("safety.block.explain")}</p>
            <ul class="safety__list">
              <li>{t("safety.block.explain_search")}</li>
              <li>{t("safety.block.explain_direct")}</li>
              <li>{t("safety.block.explain_groups")}</li>
              <li>{t("safety.block.explain_silent")}</li>
            </ul>
            <ErrorText error={error} />
            <div class="row report-form__actions">
              <Button variant="ghost" onClick={() => setConfirming(false)}>
                {t("common.cancel")}
              </Button>
              <Button variant="danger" busy={busy} onClick={() => void change(true)}>
                {t("safety.block.confirm")}
              </Button>
            </div>
          </div>
        </Dialog>
      )}
    </>
  );
}

/** My blocked people with an "unblock" button each (embedded in the settings screen). */
export function BlockedList() {
  const { blocks, error } = useBlocks();
  return (
    <section class="blocked" aria-labelledby="blocked-title">
      <h2 id="blocked-title">{t("safety.blocked.title")}</h2>
      {blocks === null ? (
        error ? <ErrorText error={error} /> : <Spinner />
      ) : blocks.length === 0 ? (
        <Empty>{t("safety.blocked.empty")}</Empty>
      ) : (
        <ul class="safety__people" aria-live="polite">
          {blocks.map((block) => (
            <BlockedRow key={block.user.id} user={block.user} />
          ))}
        </ul>
      )}
    </section>
  );
}

function BlockedRow({ user }: { user: Schemas["UserPublic"] }) {
  const name = personName(user);
  return (
    <li class="safety__person">
      <Avatar name={name} fileId={user.avatar_file_id} size={36} />
      <a class="safety__person-name" href={`/users/${user.id}`}>
        {name}
      </a>
      <BlockToggle userId={user.id} />
    </li>
  );
}
