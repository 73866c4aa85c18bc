// Placeholder: to be built by the org work (see the web client issue).
export default function OrgJoin() {
  return <p class="empty">OrgJoin</p>;
}
