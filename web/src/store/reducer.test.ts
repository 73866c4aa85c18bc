import { describe, expect, it } from "vitest";
import type { Chat, Message, ServerEvent } from "../api/types";
import { applyEvents, emptyState, replayEvents, sortedChats, withChats, withPage, type ChatState } from "./reducer";

const ME = 1;
const OTHER = 2;

function msg(id: number, sender: number, text: string, extra: Partial<Message> = {}): Message {
  return { id, chat_id: 10, sender_id: sender, text, created_at: `2025-03-01T10:00:${String(id).padStart(2, "0")}Z`, ...extra };
}

function chat(extra: Partial<Chat> = {}): Chat {
  return {
    id: 10,
    kind: "group",
    title: "5А класс",
    role: "member",
    member_count: 3,
    unread_count: 0,
    last_read_message_id: 0,
    last_activity_at: "2025-03-01T10:00:00Z",
    created_at: "2025-03-01T10:00:00Z",
    ...extra,
  };
}

let nextEvent = 100;
function ev(type: string, data: Record<string, unknown>, chatId: number | null = 10): ServerEvent {
  return { id: ++nextEvent, type, at: "2025-03-01T10:00:00Z", chat_id: chatId, data };
}

/** What GET /chats and GET /chats/10/messages answer: the state a fresh device builds. */
function fetched(chats: Chat[], messages: Message[], position: number): ChatState {
  let state = withChats({ ...emptyState(ME), position }, chats);
  state = withPage(state, 10, { messages, has_more: false }, true);
  return state;
}

describe("reducer", () => {
  it("old state + events = fresh fetch", () => {
    const m1 = msg(1, OTHER, "Здравствуйте");
    const start = fetched([chat({ last_message: m1, last_activity_at: m1.created_at, unread_count: 1 })], [m1], 100);
    const m2 = msg(2, OTHER, "Домашнее задание");
    const m3 = msg(3, ME, "Спасибо");
    const m4 = msg(4, OTHER, "Ещё вопрос");
    const m2edited = { ...m2, text: "Домашнее задание: №5", is_edited: true };
    const m4deleted = { ...m4, text: null, is_deleted: true };
    const m5 = msg(5, OTHER, "Итог");
    const events = [
      ev("message.created", { message: m2 }),
      ev("message.created", { message: m3 }),
      ev("message.created", { message: m4 }),
      ev("message.edited", { message: m2edited }),
      ev("message.deleted", { message: m4deleted }),
      ev("chat.member_added", { chat_id: 10, by: OTHER, users: [{ id: 7, first_name: "Петя" }] }),
      ev("chat.updated", { chat_id: 10, title: "5А класс 2025" }),
      ev("message.created", { message: m5 }),
      ev("chat.read", { user_id: ME, message_id: 4 }),
    ];
    const result = applyEvents(start, events);
    const fresh = fetched(
      [chat({ title: "5А класс 2025", member_count: 4, last_message: m5, last_activity_at: m5.created_at, unread_count: 1, last_read_message_id: 4 })],
      [m1, m2edited, m3, m4deleted, m5],
      nextEvent,
    );
    expect(result.chats).toEqual(fresh.chats);
    expect(result.windows).toEqual(fresh.windows);
    expect(result.position).toBe(nextEvent);
  });

  it("skips events at or before the position (dedup across reconnects)", () => {
    const m1 = msg(1, OTHER, "Раз");
    const state = fetched([chat()], [], 100);
    const created = ev("message.created", { message: m1 });
    const once = applyEvents(state, [created]);
    expect(applyEvents(once, [created])).toBe(once);
    expect(once.chats[10]?.unread_count).toBe(1);
  });

  it("replaying events after a refetch does not count a message twice", () => {
    const m1 = msg(1, OTHER, "Раз");
    const created = ev("message.created", { message: m1 });
    const snapshot = fetched([chat({ last_message: m1, unread_count: 1, last_activity_at: m1.created_at })], [m1], created.id);
    expect(replayEvents(snapshot, [created]).chats[10]?.unread_count).toBe(1);
  });

  it("own message clears unread; removal from a chat drops it; unknown chats are fetched", () => {
    let state = fetched([chat({ unread_count: 2 })], [], 100);
    state = applyEvents(state, [ev("message.created", { message: msg(9, ME, "Я") })]);
    expect(state.chats[10]?.unread_count).toBe(0);
    state = applyEvents(state, [ev("message.created", { message: { ...msg(1, OTHER, "В другом чате"), chat_id: 77 } }, 77)]);
    expect(state.missing).toEqual([77]);
    state = applyEvents(state, [ev("chat.removed", { chat_id: 10, user_id: ME }, null)]);
    expect(state.chats[10]).toBeUndefined();
    expect(state.windows[10]).toBeUndefined();
  });

  it("archiving marks the chat read-only with its successor", () => {
    const state = applyEvents(fetched([chat()], [], 100), [ev("chat.archived", { chat_id: 10, archived_at: "2025-06-01T00:00:00Z", successor_chat_id: 11 })]);
    expect(state.chats[10]).toMatchObject({ is_archived: true, archived_at: "2025-06-01T00:00:00Z", successor_chat_id: 11 });
  });

  it("keeps a welcome notice and orders chats by activity", () => {
    let state = withChats(emptyState(ME), [chat({ id: 1, last_activity_at: "2025-01-01T00:00:00Z" }), chat({ id: 2, last_activity_at: "2025-02-01T00:00:00Z" })]);
    state = applyEvents(state, [ev("notice.welcome", { org_name: "Школа №1", text: "Вас добавили в 5А" }, null)]);
    expect(state.notices).toEqual([{ id: nextEvent, text: "Вас добавили в 5А", orgName: "Школа №1" }]);
    expect(sortedChats(state).map((c) => c.id)).toEqual([2, 1]);
  });
});
