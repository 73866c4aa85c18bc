// Placeholder: to be built by the help work (see the web client issue).
export default function Help() {
  return <p class="empty">Help</p>;
}
