import { useEffect, useState } from "preact/hooks";
import { api } from "../../../api/client";
import type { Chat, Message, MessagePage } from "../../../api/types";
import { t } from "../../../i18n";
import { subscribe } from "../../../net/events";
import { messagePreview } from "./shared";

/** Pins, newest pin first (the server's order), kept current by message events. */
function usePins(chatId: number): Message[] {
  const [pins, setPins] = useState<Message[]>([]);
  useEffect(() => {
    let alive = true;
    setPins([]);
    api<MessagePage>("GET", `/chats/${chatId}/pins`).then(
      (page) => alive && setPins(page.messages),
      () => undefined,
    );
    const apply = (message: Message | undefined, pinned: boolean | null) => {
      if (!message) return;
      setPins((current) => {
        const rest = current.filter((item) => item.id !== message.id);
        const keep = pinned ?? current.some((item) => item.id === message.id);
        if (!keep || message.is_deleted) return rest;
        return pinned ? [message, ...rest] : current.map((item) => (item.id === message.id ? message : item));
      });
    };
    const handlers: [string, boolean | null][] = [
      ["message.pinned", true],
      ["message.unpinned", false],
      ["message.edited", null],
      ["message.deleted", null],
    ];
    const stops = handlers.map(([type, pinned]) =>
      subscribe(type, (event) => {
        if (event.chat_id === chatId) apply(event.data?.message as Message | undefined, pinned);
      }),
    );
    return () => {
      alive = false;
      stops.forEach((stop) => stop());
    };
  }, [chatId]);
  return pins;
}

/** The pinned messages bar at the top of a chat. */
export function PinnedBar({ chat, onJump }: { chat: Chat; onJump: (messageId: number) => void }) {
  const pins = usePins(chat.id);
  // With several pins each click jumps to the shown one and moves on to the older one.
  const [index, setIndex] = useState(0);
  useEffect(() => setIndex(0), [pins.length]);
  if (pins.length === 0) return null;
  const current = pins[Math.min(index, pins.length - 1)] as Message;
  const heading = pins.length > 1 ? t("chatx.pin.nOfM", { n: Math.min(index, pins.length - 1) + 1, m: pins.length }) : t("chatx.pin.one");
  return (
    <div class="chatx-pinned">
      <button
        type="button"
        class="chatx-pinned__btn"
        onClick={() => {
          onJump(current.id);
          setIndex((value) => (value + 1) % pins.length);
        }}
      >
        <span aria-hidden="true">📌</span>
        <span class="chatx-pinned__text">
          <strong>{heading}</strong>
          <span class="chatx-pinned__preview">{messagePreview(current)}</span>
        </span>
      </button>
    </div>
  );
}
