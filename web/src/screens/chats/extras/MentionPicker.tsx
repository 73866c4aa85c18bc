import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatMember } from "../../../api/types";
import { t } from "../../../i18n";
import { useMe } from "../../../store/session";
import { Avatar } from "../../../ui";
import { chatMembers, onMembersChanged } from "./data";
import { filterMentions, fullName } from "./logic";

function useMembers(chatId: number): ChatMember[] {
  const [members, setMembers] = useState<ChatMember[]>([]);
  useEffect(() => {
    let alive = true;
    const load = () => chatMembers(chatId).then((value) => alive && setMembers(value), () => undefined);
    void load();
    const stop = onMembersChanged((changed) => changed === chatId && void load());
    return () => {
      alive = false;
      stop();
    };
  }, [chatId]);
  return members;
}

/**
 * @mention suggestions for the composer's current word; picking inserts the name.
 * Focus stays in the composer, so the arrows and Enter are caught on the document
 * (capture phase, before the composer sends) while suggestions are shown.
 */
export function MentionPicker({ chatId, query, onPick }: { chatId: number; query: string | null; onPick: (user: { id: number; name: string }) => void }) {
  const me = useMe();
  const members = useMembers(chatId);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const matches = query === null ? [] : filterMentions(members, query, me?.id ?? null);
  const visible = matches.length > 0 && dismissed !== query;
  const state = useRef({ matches, active, visible, onPick });
  state.current = { matches, active, visible, onPick };
  useEffect(() => setActive(0), [query]);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const { matches: list, active: index, visible: shown, onPick: pick } = state.current;
      if (!shown) return;
      let handled = true;
      if (event.key === "ArrowDown") setActive((index + 1) % list.length);
      else if (event.key === "ArrowUp") setActive((index - 1 + list.length) % list.length);
      else if (event.key === "Enter" || event.key === "Tab") {
        const member = list[index];
        if (member) pick({ id: member.id, name: fullName(member) });
      } else if (event.key === "Escape") setDismissed(query);
      else handled = false;
      if (handled) {
        event.preventDefault();
        event.stopPropagation();
      }
    };
    document.addEventListener("keydown", onKey, true);
    return () => document.removeEventListener("keydown", onKey, true);
  }, [query]);
  if (!visible) return null;
  return (
    <div class="chatx-mentions">
      <ul class="chatx-mentions__list" role="listbox" aria-label={t("chatx.mention.label")}>
        {matches.map((member, index) => (
          <li
            key={member.id}
            id={`chatx-mention-${member.id}`}
            role="option"
            aria-selected={index === active}
            class={index === active ? "chatx-mentions__item chatx-mentions__item--active" : "chatx-mentions__item"}
            // mousedown, not click: the composer must keep its focus and caret.
            onMouseDown={(event) => {
              event.preventDefault();
              onPick({ id: member.id, name: fullName(member) });
            }}
          >
            <Avatar name={fullName(member)} fileId={member.avatar_file_id} size={28} />
            <span>{fullName(member)}</span>
          </li>
        ))}
      </ul>
      <span class="visually-hidden" aria-live="polite">
        {t("chatx.mention.hint", { n: matches.length })}
      </span>
    </div>
  );
}
