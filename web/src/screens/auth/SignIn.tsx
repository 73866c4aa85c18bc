// Placeholder: to be built by the auth work (see the web client issue).
export default function SignIn() {
  return <p class="empty">SignIn</p>;
}
