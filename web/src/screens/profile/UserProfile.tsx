// Placeholder: to be built by the profile work (see the web client issue).
export default function UserProfile() {
  return <p class="empty">UserProfile</p>;
}
