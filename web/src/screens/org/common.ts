// Shared bits of the organization screens: role and kind names, a loader hook and
// the live-event hook that refreshes what the cabinet shows.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { ServerEvent } from "../../api/types";
import type { OrgKind, OrgRole } from "../../api/types";
import { t, type TextKey } from "../../i18n";
import { subscribe } from "../../net/events";

export const ROLES: OrgRole[] = ["admin", "additional_admin", "teacher", "student", "parent", "staff"];
/** Roles an invite link or a join request may carry (never admin). */
export const INVITE_ROLES: OrgRole[] = ["teacher", "student", "parent", "staff"];
export const KINDS: OrgKind[] = ["school", "kindergarten", "college", "extracurricular", "authority"];

const ROLE_KEYS: Record<OrgRole, TextKey> = {
  admin: "org.role.admin",
  additional_admin: "org.role.additional_admin",
  teacher: "org.role.teacher",
  student: "org.role.student",
  parent: "org.role.parent",
  staff: "org.role.staff",
};

const KIND_KEYS: Record<OrgKind, TextKey> = {
  school: "org.kind.school",
  kindergarten: "org.kind.kindergarten",
  college: "org.kind.college",
  extracurricular: "org.kind.extracurricular",
  authority: "org.kind.authority",
};

export function roleLabel(role: string | null | undefined): string {
  return role && role in ROLE_KEYS ? t(ROLE_KEYS[role as OrgRole]) : (role ?? "");
}

export function kindLabel(kind: string): string {
  return kind in KIND_KEYS ? t(KIND_KEYS[kind as OrgKind]) : kind;
}

export function isAdminRole(role: string | null | undefined): boolean {
  return role === "admin" || role === "additional_admin";
}

export function formatDate(iso: string | null | undefined, withTime = false): string {
  if (!iso) return "";
  const options: Intl.DateTimeFormatOptions = withTime ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "medium" };
  return new Date(iso).toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "ru-RU", options);
}

export type Loaded<T> = {
  data: T | null;
  error: unknown;
  reload: () => void;
  setData: (value: T) => void;
};

/** Loads `fetcher()` when `key` changes; `reload()` fetches again (keeping the old data meanwhile). */
export function useLoad<T>(fetcher: () => Promise<T>, key: string): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [round, setRound] = useState(0);
  const latest = useRef(fetcher);
  latest.current = fetcher;
  useEffect(() => {
    let alive = true;
    latest.current().then(
      (value) => alive && (setData(value), setError(null)),
      (err: unknown) => alive && setError(err),
    );
    return () => {
      alive = false;
    };
  }, [key, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data, error, reload, setData };
}

/** Calls `onEvent` for live events of these types that concern the organization. */
export function useOrgEvents(orgId: number, types: string[], onEvent: (event: ServerEvent) => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const joined = types.join(",");
  useEffect(() => {
    const listener = (event: ServerEvent) => {
      if (event.data.org_id === undefined || event.data.org_id === orgId) handler.current(event);
    };
    const offs = joined.split(",").map((type) => subscribe(type, listener));
    return () => offs.forEach((off) => off());
  }, [orgId, joined]);
}
