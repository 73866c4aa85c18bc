// The moderation queue (/moderation/:orgId): a school's reports for its admins, or
// (/moderation/operator) the reports routed to the regional operators. Each open
// report is decided once, with an optional note and a confirmation; the list follows
// the server's report events live.
import { useCallback, useEffect, useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { ApiError, api } from "../../api/client";
import type { Schemas } from "../../api/client";
import type { Org } from "../../api/types";
import { t } from "../../i18n";
import { subscribe } from "../../net/events";
import { Button, Empty, ErrorText, Spinner } from "../../ui";
import { OPERATOR_QUEUE, STATUS_LABELS, orgQueue, type Queue, type QueuedReport, type ReportStatus } from "./queue";
import { ReportCard } from "./ReportCard";
import "./moderation.css";

const FILTERS: readonly ReportStatus[] = ["open", "actioned", "dismissed"];

type ListState = { reports: QueuedReport[]; next: number | null; loading: boolean; error: unknown };

function useReports(queue: Queue, status: ReportStatus) {
  const [state, setState] = useState<ListState>({ reports: [], next: null, loading: true, error: null });
  const [live, setLive] = useState("");

  const load = useCallback(
    async (cursor: number | null) => {
      setState((old) => ({ ...old, loading: true, error: null }));
      try {
        const page = await api<Schemas["ReportList"]>("GET", queue.list, undefined, { query: { status, cursor } });
        setState((old) => ({
          reports: cursor === null ? page.reports : [...old.reports, ...page.reports],
          next: page.next_cursor ?? null,
          loading: false,
          error: null,
        }));
      } catch (error) {
        setState((old) => ({ ...old, loading: false, error }));
      }
    },
    [queue.list, status],
  );

  useEffect(() => {
    setState({ reports: [], next: null, loading: true, error: null });
    void load(null);
    // The events carry no cards or message text, so a change means a fresh first page.
    const refresh = (note: string) => (event: { data: Record<string, unknown> }) => {
      if (!queue.owns(event.data)) return;
      setLive(note);
      void load(null);
    };
    const offCreated = subscribe("report.created", refresh(t("moderation.live_new")));
    const offResolved = subscribe("report.resolved", refresh(t("moderation.live_resolved")));
    return () => {
      offCreated();
      offResolved();
    };
  }, [load, queue]);

  const replace = (report: QueuedReport) =>
    setState((old) => ({
      ...old,
      // A decided report leaves the open list; elsewhere it is updated in place.
      reports: old.reports.flatMap((item) => (item.id !== report.id ? [item] : report.status === status ? [report] : [])),
    }));
  return { state, live, load, replace };
}

function Filter({ value, onChange }: { value: ReportStatus; onChange: (value: ReportStatus) => void }) {
  return (
    <div class="moderation__filter" role="group" aria-label={t("moderation.filter")}>
      {FILTERS.map((status) => (
        <button key={status} type="button" class="btn" aria-pressed={value === status} onClick={() => onChange(status)}>
          {t(STATUS_LABELS[status])}
        </button>
      ))}
    </div>
  );
}

function ReportsList({ queue }: { queue: Queue }) {
  const [status, setStatus] = useState<ReportStatus>("open");
  const { state, live, load, replace } = useReports(queue, status);
  return (
    <>
      <Filter value={status} onChange={setStatus} />
      <p class="visually-hidden" role="status" aria-live="polite">
        {live}
      </p>
      {state.reports.length === 0 && !state.loading && !state.error && (
        <Empty>{status === "open" ? t("moderation.empty_open") : t("moderation.empty_closed")}</Empty>
      )}
      <ul class="moderation__list">
        {state.reports.map((report) => (
          <li key={report.id}>
            <ReportCard queue={queue} report={report} onDecided={replace} />
          </li>
        ))}
      </ul>
      <ErrorText error={state.error} />
      {state.loading && <Spinner />}
      {!state.loading && state.next !== null && <Button onClick={() => void load(state.next)}>{t("moderation.more")}</Button>}
    </>
  );
}

function OrgModeration({ orgId }: { orgId: number }) {
  const [org, setOrg] = useState<Org | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [queue] = useState(() => orgQueue(orgId));
  useEffect(() => {
    api<Org>("GET", `/orgs/${orgId}`).then(setOrg, setError);
  }, [orgId]);
  if (error) {
    if (error instanceof ApiError && error.status === 404) return <p class="empty">{t("moderation.org_not_found")}</p>;
    return <ErrorText error={error} />;
  }
  if (!org) return <Spinner />;
  const isAdmin = org.my_role === "admin" || org.my_role === "additional_admin";
  return (
    <>
      <h1>{t("moderation.title")}</h1>
      <p class="muted">
        <a href={`/orgs/${org.id}`}>{org.short_name}</a>
      </p>
      {isAdmin ? <ReportsList queue={queue} /> : <p class="empty">{t("moderation.admins_only")}</p>}
    </>
  );
}

export default function Moderation() {
  const { params } = useRoute();
  const orgId = Number(params.orgId);
  let body;
  if (params.orgId === "operator") {
    body = (
      <>
        <h1>{t("moderation.operator_title")}</h1>
        <p class="muted">{t("moderation.operator_intro")}</p>
        <ReportsList queue={OPERATOR_QUEUE} />
      </>
    );
  } else if (Number.isSafeInteger(orgId) && orgId > 0) body = <OrgModeration orgId={orgId} />;
  else body = <p class="empty">{t("moderation.org_not_found")}</p>;
  return <div class="page page--narrow moderation">{body}</div>;
}
