// /orgs/:orgId/:tab? — the organization's cabinet. Admins get tabs (each a route);
// other members see the organization's card and their own class chats.
import { useEffect, useRef } from "preact/hooks";
import { api } from "../../api/client";
import type { ChatList, Org } from "../../api/types";
import { t, type TextKey } from "../../i18n";
import { Avatar, Empty, ErrorText, Spinner } from "../../ui";
import { AdminsTab } from "./AdminsTab";
import { AuditTab } from "./AuditTab";
import { ClassesTab } from "./ClassesTab";
import { isAdminRole, kindLabel, roleLabel, useLoad, useOrgEvents } from "./common";
import { InfoTab, OrgInfoView } from "./InfoTab";
import { InvitesTab } from "./InvitesTab";
import { MembersTab } from "./MembersTab";
import { RequestsTab } from "./RequestsTab";

export type TabProps = { org: Org; onOrgChange: (org: Org) => void };

const TABS: { path: string; label: TextKey; component: (props: TabProps) => preact.JSX.Element }[] = [
  { path: "info", label: "org.tab.info", component: InfoTab },
  { path: "classes", label: "org.tab.classes", component: ClassesTab },
  { path: "members", label: "org.tab.members", component: MembersTab },
  { path: "invites", label: "org.tab.invites", component: InvitesTab },
  { path: "requests", label: "org.tab.requests", component: RequestsTab },
  { path: "admins", label: "org.tab.admins", component: AdminsTab },
  { path: "audit", label: "org.tab.audit", component: AuditTab },
];

function Tabs({ org, active }: { org: Org; active: string }) {
  const current = useRef<HTMLAnchorElement>(null);
  // On a phone the tab row scrolls sideways: keep the open tab in sight.
  useEffect(() => current.current?.scrollIntoView?.({ block: "nearest", inline: "center" }), [active]);
  return (
    <nav class="org-tabs" aria-label={t("org.tabs")}>
      <ul>
        {TABS.map((tab) => (
          <li key={tab.path}>
            <a ref={tab.path === active ? current : undefined} href={`/orgs/${org.id}/${tab.path}`} class="org-tabs__item" aria-current={tab.path === active ? "page" : undefined}>
              {t(tab.label)}
            </a>
          </li>
        ))}
        <li>
          <a href={`/moderation/${org.id}`} class="org-tabs__item">
            {t("org.tab.moderation")}
          </a>
        </li>
      </ul>
    </nav>
  );
}

/** A member's view: their class chats in this organization. */
function MyClassChats({ org }: { org: Org }) {
  const chats = useLoad(() => api<ChatList>("GET", "/chats").then((list) => list.chats.filter((chat) => chat.org_id === org.id)), `chats-${org.id}`);
  return (
    <section class="card stack" aria-labelledby="org-my-chats">
      <h2 id="org-my-chats">{t("org.my_chats")}</h2>
      <ErrorText error={chats.error} />
      {!chats.data && !chats.error && <Spinner />}
      {chats.data?.length === 0 && <Empty>{t("org.my_chats_none")}</Empty>}
      <ul class="org-list">
        {chats.data?.map((chat) => (
          <li key={chat.id}>
            <a href={`/chats/${chat.id}`}>{chat.title}</a>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Cabinet({ params }: { params: { orgId: string; tab?: string } }) {
  const orgId = Number(params.orgId);
  const org = useLoad(() => api<Org>("GET", `/orgs/${orgId}`), `org-${orgId}`);
  useOrgEvents(orgId, ["org.updated", "org.verified", "org.member_updated"], org.reload);
  if (org.error) {
    return (
      <div class="page">
        <ErrorText error={org.error} />
        <a href="/orgs">{t("org.back")}</a>
      </div>
    );
  }
  if (!org.data) return <Spinner />;
  const admin = isAdminRole(org.data.my_role);
  const tab = TABS.find((item) => item.path === (params.tab ?? "info")) ?? TABS[0]!;
  const Current = tab.component;
  return (
    <div class="page">
      <div class="org-cabinet stack">
        <a href="/orgs" class="org-back">
          ← {t("org.back")}
        </a>
        <header class="org-head">
          <Avatar name={org.data.short_name} fileId={org.data.logo_file_id} size={56} />
          <div>
            <h1>{org.data.short_name}</h1>
            <p class="muted">
              {kindLabel(org.data.kind)} · {t("org.my_role", { role: roleLabel(org.data.my_role) })}
              {org.data.is_verified && <span class="badge org-verified">{t("org.verified")}</span>}
            </p>
          </div>
        </header>
        {admin ? (
          <>
            <Tabs org={org.data} active={tab.path} />
            <Current org={org.data} onOrgChange={org.setData} />
          </>
        ) : (
          <>
            <OrgInfoView org={org.data} />
            <MyClassChats org={org.data} />
          </>
        )}
      </div>
    </div>
  );
}
