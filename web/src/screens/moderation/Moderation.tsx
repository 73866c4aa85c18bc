// Placeholder: to be built by the moderation work (see the web client issue).
export default function Moderation() {
  return <p class="empty">Moderation</p>;
}
