// Заявки: people asking to join (from the directory or an approval link); approve
// with a role and class, or decline with a reason the person will see.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { JoinRequest, JoinRequestList, OrgRole } from "../../api/types";
import { t } from "../../i18n";
import { Button, Dialog, Empty, ErrorText, Field, Spinner } from "../../ui";
import type { TabProps } from "./Cabinet";
import { INVITE_ROLES, formatDate, roleLabel, useLoad, useOrgEvents } from "./common";
import { requestStatus } from "./FindOrg";
import { ClassSelect } from "./MemberDialogs";
import { className, useClasses } from "./people";

type Open = { kind: "approve" | "decline"; request: JoinRequest } | null;

function DecideDialog({ orgId, open, onClose }: { orgId: number; open: NonNullable<Open>; onClose: () => void }) {
  const { request } = open;
  const classes = useClasses(orgId);
  const [role, setRole] = useState<OrgRole>(request.role as OrgRole);
  const [classId, setClassId] = useState(request.class_id ? String(request.class_id) : "");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const approve = open.kind === "approve";

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const base = `/orgs/${orgId}/join-requests/${request.id}`;
    try {
      if (approve) await api("POST", `${base}/approve`, { role, class_id: classId ? Number(classId) : null });
      else await api("POST", `${base}/decline`, { reason: reason.trim() });
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const name = request.user ? `${request.user.first_name ?? ""} ${request.user.last_name ?? ""}`.trim() : "";
  return (
    <Dialog title={t(approve ? "org.requests.approve_title" : "org.requests.decline_title", { name })} onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        {approve ? (
          <>
            <Field id="decide-role" label={t("org.field.role")}>
              <select id="decide-role" value={role} onChange={(e) => setRole(e.currentTarget.value as OrgRole)}>
                {INVITE_ROLES.map((value) => (
                  <option key={value} value={value}>
                    {roleLabel(value)}
                  </option>
                ))}
              </select>
            </Field>
            <ClassSelect id="decide-class" value={classId} classes={classes.data ?? []} onChange={setClassId} />
          </>
        ) : (
          <Field id="decide-reason" label={t("org.requests.reason")} hint={t("org.requests.reason_hint")}>
            <textarea id="decide-reason" rows={3} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </Field>
        )}
        <ErrorText error={error} />
        <Button type="submit" variant={approve ? "primary" : "danger"} busy={busy}>
          {approve ? t("org.requests.approve") : t("org.requests.decline")}
        </Button>
      </form>
    </Dialog>
  );
}

export function RequestsTab({ org }: TabProps) {
  const [status, setStatus] = useState("pending");
  const requests = useLoad(
    () => api<JoinRequestList>("GET", `/orgs/${org.id}/join-requests`, undefined, { query: { status: status || undefined, limit: 100 } }).then((r) => r.join_requests),
    `requests-${org.id}-${status}`,
  );
  const classes = useClasses(org.id);
  const [open, setOpen] = useState<Open>(null);
  useOrgEvents(org.id, ["join_request.created", "join_request.decided"], requests.reload);

  return (
    <section class="card stack" aria-labelledby="requests-title">
      <h2 id="requests-title">{t("org.tab.requests")}</h2>
      <Field id="requests-status" label={t("org.requests.show")}>
        <select id="requests-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="pending">{t("org.request.pending")}</option>
          <option value="">{t("org.requests.all")}</option>
        </select>
      </Field>
      <ErrorText error={requests.error} />
      {!requests.data && !requests.error && <Spinner />}
      {requests.data?.length === 0 && <Empty>{t("org.requests.none")}</Empty>}
      <ul class="org-list" aria-live="polite">
        {requests.data?.map((request) => (
          <li key={request.id} class="org-row">
            <div>
              <strong>{request.user ? `${request.user.first_name ?? ""} ${request.user.last_name ?? ""}` : `#${request.user_id}`}</strong>
              {request.phone ? <span class="muted"> · {request.phone}</span> : null}
              <div class="muted">
                {roleLabel(request.role)}
                {request.class_id ? ` · ${className(classes.data, request.class_id)}` : ""} · {formatDate(request.created_at, true)} · {requestStatus(request.status)}
              </div>
              {request.message && <p class="org-quote">{request.message}</p>}
            </div>
            {request.status === "pending" && (
              <div class="org-actions">
                <Button variant="primary" onClick={() => setOpen({ kind: "approve", request })}>
                  {t("org.requests.approve")}
                </Button>
                <Button variant="danger" onClick={() => setOpen({ kind: "decline", request })}>
                  {t("org.requests.decline")}
                </Button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {open && <DecideDialog orgId={org.id} open={open} onClose={() => (setOpen(null), requests.reload())} />}
    </section>
  );
}
