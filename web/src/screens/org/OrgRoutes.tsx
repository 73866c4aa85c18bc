// Placeholder: to be built by the org work (see the web client issue).
export default function OrgRoutes() {
  return <p class="empty">OrgRoutes</p>;
}
