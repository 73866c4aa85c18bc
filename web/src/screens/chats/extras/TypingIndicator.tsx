import { useEffect, useState } from "preact/hooks";
import type { ChatMember } from "../../../api/types";
import { useMe } from "../../../store/session";
import { chatMembers } from "./data";
import { firstName, typingText } from "./logic";
import { onTypingChange, typingUsers } from "./typing";

/** "Мария печатает…" from typing events of this chat. */
export function TypingIndicator({ chatId }: { chatId: number }) {
  const me = useMe();
  const [users, setUsers] = useState<number[]>(() => typingUsers(chatId));
  const [members, setMembers] = useState<ChatMember[]>([]);
  useEffect(() => {
    setUsers(typingUsers(chatId));
    return onTypingChange(chatId, () => setUsers(typingUsers(chatId)));
  }, [chatId]);
  const others = users.filter((id) => id !== me?.id);
  const needNames = others.some((id) => !members.some((member) => member.id === id));
  useEffect(() => {
    if (needNames) chatMembers(chatId).then(setMembers, () => undefined);
  }, [chatId, needNames]);
  const names = others.map((id) => firstName(members.find((member) => member.id === id)));
  // The region stays in the page so screen readers announce what appears in it.
  return (
    <div class="chatx-typing" aria-live="polite">
      {others.length > 0 && typingText(names)}
    </div>
  );
}
