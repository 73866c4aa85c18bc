// A parent's pages: my children (/children) and one child (/children/:childId):
// safe mode, approved contacts, who the child talks to and which chats they are
// in — never what is written there (the server gives no contents).
import { Route, Router } from "preact-iso";
import { t } from "../../i18n";
import { ChildPage } from "./ChildPage";
import { ChildrenList } from "./ChildrenList";
import "./parent.css";

function NotFound() {
  return <p class="empty">{t("parent.child_not_found")}</p>;
}

export default function ParentRoutes() {
  return (
    <Router>
      <Route path="/" component={ChildrenList} />
      <Route path="/:childId" component={ChildPage} />
      <Route default component={NotFound} />
    </Router>
  );
}
