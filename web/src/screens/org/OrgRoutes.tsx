// /orgs and /orgs/*: my organizations, and each organization's cabinet (its tabs
// are routes: /orgs/5/classes, /orgs/5/members…).
import { Route, Router } from "preact-iso";
import { t } from "../../i18n";
import { Cabinet } from "./Cabinet";
import { OrgHome } from "./OrgHome";
import "./org.css";

function NotFound() {
  return <p class="empty">{t("error.not_found")}</p>;
}

export default function OrgRoutes() {
  return (
    <Router>
      <Route path="/" component={OrgHome} />
      <Route path="/:orgId/:tab?" component={Cabinet} />
      <Route default component={NotFound} />
    </Router>
  );
}
