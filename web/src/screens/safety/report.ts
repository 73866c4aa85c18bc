// The report form's rules, kept apart from the dialog so they can be tested alone.
import type { Schemas } from "../../api/client";
import type { TextKey } from "../../i18n";

export type ReportReason = Schemas["ReportReason"];

/** The server's reasons (ReportIn.reason), in the order people choose them. */
export const REASONS: readonly ReportReason[] = ["spam", "abuse", "inappropriate", "danger", "other"];

export const REASON_LABELS: Record<ReportReason, TextKey> = {
  spam: "safety.reason.spam",
  abuse: "safety.reason.abuse",
  inappropriate: "safety.reason.inappropriate",
  danger: "safety.reason.danger",
  other: "safety.reason.other",
};

/** The server's limit for `comment` (ReportIn.comment maxLength). */
export const COMMENT_MAX = 1024;

export type ReportDraft = { reason: ReportReason | null; comment: string };
export type ReportProblem = { field: "reason" | "comment"; key: TextKey };

/**
 * What is wrong with the form, or null. "Other" needs a few words: without them the
 * school's admins cannot tell what happened.
 */
export function checkReport(draft: ReportDraft): ReportProblem | null {
  if (!draft.reason) return { field: "reason", key: "safety.report.need_reason" };
  const comment = draft.comment.trim();
  if (comment.length > COMMENT_MAX) return { field: "comment", key: "safety.report.too_long" };
  if (draft.reason === "other" && !comment) return { field: "comment", key: "safety.report.need_comment" };
  return null;
}

/** The request body for POST /reports. */
export function reportBody(
  draft: ReportDraft & { reason: ReportReason },
  target: { messageId?: number; userId?: number },
): Schemas["ReportIn"] {
  const body: Schemas["ReportIn"] = { reason: draft.reason, comment: draft.comment.trim() };
  if (target.messageId !== undefined) body.message_id = target.messageId;
  else if (target.userId !== undefined) body.user_id = target.userId;
  return body;
}
