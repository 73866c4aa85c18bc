import { useEffect, useState } from "preact/hooks";
import { api } from "../../../api/client";
import type { Chat, Message } from "../../../api/types";
import { plural, t } from "../../../i18n";
import { useMe } from "../../../store/session";
import { ErrorText } from "../../../ui";

/**
 * Adds or removes your reaction. The answer is the message's new state; the live
 * `reaction.*` event brings the same state to the chat core's reducer.
 */
export function toggleReaction(chatId: number, message: Message, emoji: string, mine: boolean): Promise<Message> {
  const path = `/chats/${chatId}/messages/${message.id}/reactions`;
  return mine ? api<Message>("DELETE", path, undefined, { query: { emoji } }) : api<Message>("POST", path, { emoji });
}

/** Reactions under a message (counts, own highlighted, click toggles). */
export function ReactionBar({ chat, message }: { chat: Chat; message: Message }) {
  const me = useMe();
  // The server's answer shows at once; the next props (from the event) replace it.
  const [local, setLocal] = useState<Message | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => setLocal(null), [message]);
  const shown = local ?? message;
  const entries = Object.entries(shown.reactions ?? {}).filter(([, users]) => users.length > 0);
  if (entries.length === 0 || shown.is_deleted) return null;
  const toggle = async (emoji: string, mine: boolean) => {
    setBusy(emoji);
    setError(null);
    try {
      setLocal(await toggleReaction(chat.id, shown, emoji, mine));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div class="chatx-reactions">
      {entries.map(([emoji, users]) => {
        const mine = me !== null && users.includes(me.id);
        const label = t(mine ? "chatx.reaction.labelMine" : "chatx.reaction.label", {
          emoji,
          n: users.length,
          people: plural(users.length, "chatx.reaction.people"),
        });
        return (
          <button
            key={emoji}
            type="button"
            class={`chatx-reaction ${mine ? "chatx-reaction--mine" : ""}`}
            aria-pressed={mine}
            aria-label={label}
            title={label}
            disabled={busy === emoji || Boolean(chat.is_archived)}
            onClick={() => toggle(emoji, mine)}
          >
            <span aria-hidden="true">{emoji}</span> <span aria-hidden="true">{users.length}</span>
          </button>
        );
      })}
      <ErrorText error={error} />
    </div>
  );
}
