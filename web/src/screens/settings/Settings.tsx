// Placeholder: to be built by the settings work (see the web client issue).
export default function Settings() {
  return <p class="empty">Settings</p>;
}
