// What differs between a school's moderation queue and the operators' one: where the
// reports live, which decisions exist, and which report events belong to it.
import type { Schemas } from "../../api/client";
import type { TextKey } from "../../i18n";

export type QueuedReport = Schemas["QueuedReport"];
export type ReportStatus = Schemas["ReportStatus"];
export type Decision = Schemas["OrgAction"] | Schemas["OperatorAction"];

export type Queue = {
  /** GET path of the list; the decision is `${list}/{id}/resolve`. */
  list: string;
  actions: readonly Decision[];
  /** A report event (`report.created`/`report.resolved`) concerns this queue. */
  owns: (data: Record<string, unknown>) => boolean;
};

export function orgQueue(orgId: number): Queue {
  return {
    list: `/orgs/${orgId}/reports`,
    actions: ["dismiss", "delete_message", "remove_member", "suspend_member"],
    owns: (data) => Number(data.org_id) === orgId,
  };
}

export const OPERATOR_QUEUE: Queue = {
  list: "/operator/reports",
  actions: ["dismiss", "delete_message", "suspend_user"],
  // Reports for operators are those routed to no school.
  owns: (data) => data.org_id === undefined || data.org_id === null,
};

export const DECISION_LABELS: Record<Decision, TextKey> = {
  dismiss: "moderation.action.dismiss",
  delete_message: "moderation.action.delete_message",
  remove_member: "moderation.action.remove_member",
  suspend_member: "moderation.action.suspend_member",
  suspend_user: "moderation.action.suspend_user",
};

export const DECISION_CONFIRMS: Record<Decision, TextKey> = {
  dismiss: "moderation.confirm.dismiss",
  delete_message: "moderation.confirm.delete_message",
  remove_member: "moderation.confirm.remove_member",
  suspend_member: "moderation.confirm.suspend_member",
  suspend_user: "moderation.confirm.suspend_user",
};

export const STATUS_LABELS: Record<ReportStatus, TextKey> = {
  open: "moderation.status.open",
  actioned: "moderation.status.actioned",
  dismissed: "moderation.status.dismissed",
};

/** The decisions that make sense for this report (no message: nothing to delete). */
export function applicable(queue: Queue, report: QueuedReport): Decision[] {
  return queue.actions.filter((action) => {
    if (action === "delete_message") return report.message_id != null && !report.message?.is_deleted;
    if (action === "dismiss") return true;
    return report.target_user_id != null;
  });
}
