// Placeholder: to be built by the auth work (see the web client issue).
export default function ProfileSetup() {
  return <p class="empty">ProfileSetup</p>;
}
