// The pending queue: a message is stored here (IndexedDB) the moment it is sent, shown
// as pending at once, and posted in order when the link allows, always with the same
// client_msg_id so a retry after a lost answer never stores it twice on the server.
import { useEffect, useState } from "preact/hooks";
import { ApiError, api } from "../api/client";
import type { Message } from "../api/types";
import { outboxAll, outboxDelete, outboxPut, type OutboxItem } from "./cache";

export type { OutboxItem };

export type NewMessage = {
  chat_id: number;
  text: string;
  reply_to?: number | null;
  file_id?: number | null;
  file_name?: string | null;
  mention_ids?: number[];
};

export type OutboxDeps = {
  post: (item: OutboxItem) => Promise<Message>;
  save: (item: OutboxItem) => Promise<void>;
  remove: (clientMsgId: string) => Promise<void>;
  /** Called with the stored message (the POST answer). */
  sent: (message: Message) => void;
  /** Called when a send failed for good (e.g. to refresh an archived chat). */
  failed?: (item: OutboxItem, error: ApiError) => void;
  /** Milliseconds to wait before the next try after `attempt` transient failures. */
  delay: (attempt: number) => number;
  setTimer: (callback: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  newId: () => string;
  now: () => string;
};

/** A server answer that no retry will change (4xx other than 408/429, or non-network). */
export function isPermanent(error: unknown): error is ApiError {
  return error instanceof ApiError && !error.isTransient && error.status !== 401 && error.status !== 408;
}

export class Outbox {
  private items: OutboxItem[] = [];
  private listeners = new Set<() => void>();
  private running = false;
  private again = false;
  private attempt = 0;
  private timer: unknown = null;
  private seq = 0;

  constructor(private readonly deps: OutboxDeps) {}

  /** Items restored from storage (after a reload). */
  load(items: OutboxItem[]): void {
    const known = new Set(this.items.map((item) => item.client_msg_id));
    this.items = [...this.items, ...items.filter((item) => !known.has(item.client_msg_id))].sort((a, b) => a.seq - b.seq);
    this.seq = Math.max(this.seq, ...this.items.map((item) => item.seq));
    this.emit();
  }

  list(chatId?: number): OutboxItem[] {
    return chatId === undefined ? this.items : this.items.filter((item) => item.chat_id === chatId);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    this.listeners.forEach((listener) => listener());
  }

  /** Queue a message: stored and shown at once, sent when possible. */
  async add(message: NewMessage): Promise<OutboxItem> {
    const item: OutboxItem = { ...message, client_msg_id: this.deps.newId(), created_at: this.deps.now(), seq: ++this.seq, status: "pending", error: null };
    this.items = [...this.items, item];
    this.emit();
    await this.deps.save(item);
    void this.flush();
    return item;
  }

  /** The server has the message (its event or the POST answer): drop the pending copy. */
  confirm(clientMsgId: string): void {
    if (!this.items.some((item) => item.client_msg_id === clientMsgId)) return;
    this.items = this.items.filter((item) => item.client_msg_id !== clientMsgId);
    this.emit();
    void this.deps.remove(clientMsgId);
  }

  /** "Повторить" on a failed message: pending again, same client_msg_id. */
  async retry(clientMsgId: string): Promise<void> {
    await this.update(clientMsgId, { status: "pending", error: null });
    this.attempt = 0;
    void this.flush();
  }

  /** "Удалить" on a failed (or pending) message. */
  async discard(clientMsgId: string): Promise<void> {
    this.confirm(clientMsgId);
  }

  private async update(clientMsgId: string, patch: Partial<OutboxItem>): Promise<void> {
    const found = this.items.find((item) => item.client_msg_id === clientMsgId);
    if (!found) return;
    const updated = { ...found, ...patch };
    this.items = this.items.map((item) => (item.client_msg_id === clientMsgId ? updated : item));
    this.emit();
    await this.deps.save(updated);
  }

  /** Send everything pending, oldest first; returns when the queue is empty or waiting. */
  async flush(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
    try {
      do {
        this.again = false;
        if (!(await this.sendAll())) return;
      } while (this.again);
    } finally {
      this.running = false;
    }
  }

  /** False when a transient failure stopped the queue (a retry is scheduled). */
  private async sendAll(): Promise<boolean> {
    for (;;) {
      const item = this.items.find((candidate) => candidate.status === "pending");
      if (!item) {
        this.attempt = 0;
        return true;
      }
      try {
        const message = await this.deps.post(item);
        this.confirm(item.client_msg_id);
        this.deps.sent(message);
        this.attempt = 0;
      } catch (error) {
        if (!isPermanent(error)) {
          this.timer = this.deps.setTimer(() => void this.flush(), this.deps.delay(this.attempt++));
          return false;
        }
        await this.update(item.client_msg_id, { status: "failed", error: { code: error.code, message: error.message } });
        this.deps.failed?.(item, error);
      }
    }
  }

  /** Sign-out: forget everything and stop retrying. */
  clear(): void {
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
    this.items = [];
    this.emit();
  }
}

function postItem(item: OutboxItem): Promise<Message> {
  return api<Message>("POST", `/chats/${item.chat_id}/messages`, {
    client_msg_id: item.client_msg_id,
    text: item.text,
    reply_to: item.reply_to ?? undefined,
    file_id: item.file_id ?? undefined,
    mention_ids: item.mention_ids?.length ? item.mention_ids : undefined,
  });
}

/** 1 s, 2 s, 4 s … up to 30 s, with jitter so many devices do not retry together. */
export function retryDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** attempt);
  return Math.round(base / 2 + (random() * base) / 2);
}

type Hooks = { sent: (message: Message) => void; failed: (item: OutboxItem, error: ApiError) => void };
const hooks: Hooks = { sent: () => undefined, failed: () => undefined };

/** The device's queue. */
export const outbox = new Outbox({
  post: postItem,
  save: (item) => outboxPut(item).catch(() => undefined),
  remove: (id) => outboxDelete(id).catch(() => undefined),
  sent: (message) => hooks.sent(message),
  failed: (item, error) => hooks.failed(item, error),
  delay: (attempt) => retryDelay(attempt),
  setTimer: (callback, ms) => setTimeout(callback, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  newId: () => crypto.randomUUID(),
  now: () => new Date().toISOString(),
});

/** Wire the queue to the chat store (set by net/ws.ts, which owns start-up). */
export function onOutboxResult(value: Hooks): void {
  Object.assign(hooks, value);
}

let restored: Promise<void> | null = null;
/** Restore the queue saved before a reload, then send it. */
export function restoreOutbox(): Promise<void> {
  restored ??= outboxAll()
    .then((items) => outbox.load(items))
    .catch(() => undefined);
  return restored.then(() => outbox.flush());
}

export function resetOutbox(): void {
  restored = null;
  outbox.clear();
}

/** The pending and failed messages of one chat, in order. */
export function useOutbox(chatId: number): OutboxItem[] {
  const [items, setItems] = useState(() => outbox.list(chatId));
  useEffect(() => {
    const update = () => setItems(outbox.list(chatId));
    update();
    return outbox.subscribe(update);
  }, [chatId]);
  return items;
}
