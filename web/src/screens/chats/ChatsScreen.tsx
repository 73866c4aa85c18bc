// Placeholder: to be built by the chats work (see the web client issue).
export default function ChatsScreen() {
  return <p class="empty">ChatsScreen</p>;
}
