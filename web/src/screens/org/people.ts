// The organization's people and classes as the cabinet's tabs need them: names for
// ids, teachers for a class, students for a parent link.
import { api } from "../../api/client";
import type { ClassGroup, ClassGroupList, OrgMember, OrgMemberList } from "../../api/types";
import { useLoad, useOrgEvents, type Loaded } from "./common";

// The directory's largest page: enough for the pickers of one school.
const ALL = 500;

export function useClasses(orgId: number): Loaded<ClassGroup[]> {
  const loaded = useLoad(() => api<ClassGroupList>("GET", `/orgs/${orgId}/classes`).then((r) => r.classes), `classes-${orgId}`);
  useOrgEvents(orgId, ["class.created", "class.updated", "class.deleted"], loaded.reload);
  return loaded;
}

/** Everyone in the organization (one big page), refreshed on member events. */
export function useAllMembers(orgId: number, role?: string): Loaded<OrgMember[]> {
  const loaded = useLoad(
    () => api<OrgMemberList>("GET", `/orgs/${orgId}/members`, undefined, { query: { role, limit: ALL } }).then((r) => r.members),
    `members-${orgId}-${role ?? ""}`,
  );
  useOrgEvents(orgId, ["org.member_added", "org.member_updated", "org.member_removed"], loaded.reload);
  return loaded;
}

export function className(classes: ClassGroup[] | null, id: number | null | undefined): string {
  if (id === null || id === undefined) return "";
  return classes?.find((item) => item.id === id)?.name ?? `#${id}`;
}

export function memberName(members: OrgMember[] | null, id: number | null | undefined): string {
  if (id === null || id === undefined) return "";
  return members?.find((item) => item.member_id === id)?.name ?? `#${id}`;
}
