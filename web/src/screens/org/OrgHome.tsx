// /orgs: the organizations I belong to, creating one, finding a verified one to ask
// to join, and my join requests.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { JoinRequestList, Org, OrgList } from "../../api/types";
import { t } from "../../i18n";
import { subscribe } from "../../net/events";
import { Avatar, Button, Empty, ErrorText, Spinner } from "../../ui";
import { kindLabel, roleLabel, useLoad } from "./common";
import { CreateOrg } from "./CreateOrg";
import { FindOrg, MyJoinRequests } from "./FindOrg";

function OrgCardLink({ org }: { org: Org }) {
  return (
    <li>
      <a class="org-card" href={`/orgs/${org.id}`}>
        <Avatar name={org.short_name} fileId={org.logo_file_id} size={44} />
        <span class="org-card__text">
          <span>
            <strong>{org.short_name}</strong>
            {org.is_verified && <span class="badge org-verified">{t("org.verified")}</span>}
          </span>
          <span class="muted">
            {kindLabel(org.kind)} · {roleLabel(org.my_role)}
          </span>
        </span>
      </a>
    </li>
  );
}

export function OrgHome() {
  const orgs = useLoad(() => api<OrgList>("GET", "/orgs").then((r) => r.orgs as Org[]), "orgs");
  const requests = useLoad(() => api<JoinRequestList>("GET", "/me/join-requests").then((r) => r.join_requests), "requests");
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    // Being added, approved or removed elsewhere changes both lists.
    const offs = ["org.joined", "org.left", "org.updated", "org.verified"].map((type) => subscribe(type, orgs.reload));
    offs.push(subscribe("join_request.decided", requests.reload));
    return () => offs.forEach((off) => off());
  }, []);

  return (
    <div class="page">
      <div class="page--narrow stack">
        <h1>{t("org.home.title")}</h1>
        <section class="card stack" aria-labelledby="org-mine">
          <h2 id="org-mine">{t("org.home.mine")}</h2>
          <ErrorText error={orgs.error} />
          {!orgs.data && !orgs.error && <Spinner />}
          {orgs.data?.length === 0 && <Empty>{t("org.home.none")}</Empty>}
          {orgs.data && orgs.data.length > 0 && (
            <ul class="org-list">
              {orgs.data.map((org) => (
                <OrgCardLink key={org.id} org={org} />
              ))}
            </ul>
          )}
          {!creating && (
            <Button variant="primary" onClick={() => setCreating(true)}>
              {t("org.create.open")}
            </Button>
          )}
        </section>
        {creating && <CreateOrg onCancel={() => setCreating(false)} />}
        <FindOrg onRequested={requests.reload} />
        <MyJoinRequests loaded={requests} />
      </div>
    </div>
  );
}
