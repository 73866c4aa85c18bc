// Placeholder: to be built by the parent work (see the web client issue).
export default function ParentRoutes() {
  return <p class="empty">ParentRoutes</p>;
}
