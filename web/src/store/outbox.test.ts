import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import type { Message } from "../api/types";
import { Outbox, type OutboxDeps, type OutboxItem } from "./outbox";

type Harness = { box: Outbox; posts: OutboxItem[]; sent: Message[]; timers: (() => void)[]; answers: ((item: OutboxItem) => Message | Error)[] };

function harness(): Harness {
  const posts: OutboxItem[] = [];
  const sent: Message[] = [];
  const timers: (() => void)[] = [];
  const answers: ((item: OutboxItem) => Message | Error)[] = [];
  let ids = 0;
  let nextMessageId = 100;
  const deps: OutboxDeps = {
    post: async (item) => {
      posts.push(item);
      const answer = answers.shift();
      const result = answer ? answer(item) : { id: nextMessageId++, chat_id: item.chat_id, created_at: "2025-01-01T00:00:00Z", client_msg_id: item.client_msg_id, text: item.text };
      if (result instanceof Error) throw result;
      return result;
    },
    save: async () => undefined,
    remove: async () => undefined,
    sent: (message) => sent.push(message),
    delay: (attempt) => 1000 * 2 ** attempt,
    setTimer: (callback) => timers.push(callback),
    clearTimer: () => undefined,
    newId: () => `id-${++ids}`,
    now: () => "2025-01-01T00:00:00Z",
  };
  return { box: new Outbox(deps), posts, sent, timers, answers };
}

const offline = () => new ApiError(0, "network_error", "Нет связи с сервером.");
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("outbox", () => {
  it("shows a message as pending at once, before any answer", async () => {
    const h = harness();
    h.answers.push(() => offline());
    const added = h.box.add({ chat_id: 1, text: "Привет" });
    expect(h.box.list(1).map((item) => [item.text, item.status])).toEqual([["Привет", "pending"]]);
    await added;
  });

  it("sends once and drops the pending copy on success", async () => {
    const h = harness();
    await h.box.add({ chat_id: 1, text: "Привет" });
    await tick();
    expect(h.posts).toHaveLength(1);
    expect(h.sent).toHaveLength(1);
    expect(h.box.list(1)).toEqual([]);
  });

  it("retries transient failures with the same client_msg_id and backoff", async () => {
    const h = harness();
    h.answers.push(() => offline(), () => new ApiError(503, "unavailable", "Сервер занят."));
    await h.box.add({ chat_id: 1, text: "Раз" });
    await tick();
    expect(h.posts).toHaveLength(1);
    expect(h.box.list(1)[0]?.status).toBe("pending");
    h.timers.shift()?.();
    await tick();
    h.timers.shift()?.();
    await tick();
    expect(h.posts).toHaveLength(3);
    expect(new Set(h.posts.map((item) => item.client_msg_id)).size).toBe(1);
    expect(h.box.list(1)).toEqual([]);
    expect(h.sent).toHaveLength(1);
  });

  it("marks permanent errors failed with the server's message and goes on with the rest", async () => {
    const h = harness();
    h.answers.push(() => offline());
    await h.box.add({ chat_id: 1, text: "x".repeat(5000) });
    await tick();
    h.answers.push(() => new ApiError(400, "text_too_long", "Слишком длинное сообщение."));
    await h.box.add({ chat_id: 1, text: "Короткое" });
    await tick();
    await tick();
    const [failed] = h.box.list(1);
    expect(failed?.status).toBe("failed");
    expect(failed?.error).toEqual({ code: "text_too_long", message: "Слишком длинное сообщение." });
    expect(h.sent.map((message) => message.text)).toEqual(["Короткое"]);
    await h.box.discard(failed!.client_msg_id);
    expect(h.box.list(1)).toEqual([]);
  });

  it("retry of a failed message posts it again with the same id", async () => {
    const h = harness();
    h.answers.push(() => new ApiError(403, "forbidden", "Нельзя."));
    await h.box.add({ chat_id: 1, text: "Снова" });
    await tick();
    const id = h.box.list(1)[0]!.client_msg_id;
    await h.box.retry(id);
    await tick();
    expect(h.posts.map((item) => item.client_msg_id)).toEqual([id, id]);
    expect(h.box.list(1)).toEqual([]);
  });

  it("sends in the order typed", async () => {
    const h = harness();
    h.answers.push(() => offline());
    await h.box.add({ chat_id: 1, text: "первое" });
    await h.box.add({ chat_id: 2, text: "второе" });
    await h.box.add({ chat_id: 1, text: "третье" });
    h.timers.shift()?.();
    await tick();
    await tick();
    expect(h.posts.map((item) => item.text)).toEqual(["первое", "первое", "второе", "третье"]);
  });

  it("a message the server already announced is not shown or sent again", async () => {
    const h = harness();
    h.answers.push(() => offline());
    const item = await h.box.add({ chat_id: 1, text: "Эхо" });
    h.box.confirm(item.client_msg_id);
    h.timers.shift()?.();
    await tick();
    expect(h.box.list(1)).toEqual([]);
    expect(h.posts).toHaveLength(1);
  });
});
