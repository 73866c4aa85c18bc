// Placeholder: to be built by the chats work (see the web client issue).
export default function JoinChat() {
  return <p class="empty">JoinChat</p>;
}
