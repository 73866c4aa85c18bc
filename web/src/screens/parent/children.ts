// My children (GET /me/children), shared by the list and a child's page and kept
// current by `safe_mode.changed` events (sent to the child and both parents).
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Schemas } from "../../api/client";
import { t, type TextKey } from "../../i18n";
import { subscribe } from "../../net/events";

export type Child = Schemas["ChildOut"];
export type SafeMode = Schemas["SafeModeOut"];
type State = { children: Child[] | null; error: unknown };

export function useChildren(): State & { setSafeMode: (childId: number, safeMode: SafeMode) => void } {
  const [state, setState] = useState<State>({ children: null, error: null });
  useEffect(() => {
    const controller = new AbortController();
    const load = () =>
      api<Schemas["ChildList"]>("GET", "/me/children", undefined, { signal: controller.signal })
        .then((list) => setState({ children: list.children, error: null }))
        .catch((error: unknown) => !controller.signal.aborted && setState((old) => ({ ...old, error })));
    void load();
    // The event carries only on/reason; `locked` may change with it, so re-read.
    const off = subscribe("safe_mode.changed", () => void load());
    return () => {
      off();
      controller.abort();
    };
  }, []);
  const setSafeMode = (childId: number, safeMode: SafeMode) =>
    setState((old) => ({
      ...old,
      children: old.children?.map((child) => (child.user.id === childId ? { ...child, safe_mode: safeMode } : child)) ?? null,
    }));
  return { ...state, setSafeMode };
}

const REASONS: Record<NonNullable<SafeMode["reason"]>, TextKey> = {
  age: "parent.safe.reason_age",
  parent: "parent.safe.reason_parent",
  school: "parent.safe.reason_school",
  self: "parent.safe.reason_self",
};

/** "On (under 14)" / "Off": the state in a few words. */
export function safeModeText(safeMode: SafeMode): string {
  if (!safeMode.on) return t("parent.safe.off");
  return safeMode.reason ? t("parent.safe.on_because", { why: t(REASONS[safeMode.reason]) }) : t("parent.safe.on");
}

/** "5А, Школа № 1; Кружок" */
export function schoolsText(child: Child): string {
  return child.schools.map((school) => (school.class_name ? `${school.class_name}, ${school.short_name}` : school.short_name)).join("; ");
}
