// The offline copy in IndexedDB: the chat list, the last messages of recent chats and
// the event position they correspond to, written together in one transaction so a
// reload resumes exactly where the copy was taken. The pending outbox lives here too.
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import { emptyState, sortedChats, type ChatState, type Member, type MessageWindow } from "./reducer";

/** How many chats keep messages offline, and how many messages each. */
export const CACHED_CHATS = 20;
export const CACHED_MESSAGES = 50;

export type OutboxItem = {
  client_msg_id: string;
  chat_id: number;
  text: string;
  reply_to?: number | null;
  file_id?: number | null;
  file_name?: string | null;
  mention_ids?: number[];
  created_at: string;
  /** Order of sending across the queue. */
  seq: number;
  status: "pending" | "failed";
  error?: { code: string; message: string } | null;
};

type Snapshot = Omit<ChatState, "windows" | "missing">;

interface CacheSchema extends DBSchema {
  kv: { key: string; value: Snapshot };
  windows: { key: number; value: { chatId: number; window: MessageWindow; members?: Member[] } };
  outbox: { key: string; value: OutboxItem };
}

const DB_NAME = "parta-cache";
let dbPromise: Promise<IDBPDatabase<CacheSchema>> | null = null;

function db(): Promise<IDBPDatabase<CacheSchema>> {
  dbPromise ??= openDB<CacheSchema>(DB_NAME, 1, {
    upgrade(database) {
      database.createObjectStore("kv");
      database.createObjectStore("windows", { keyPath: "chatId" });
      database.createObjectStore("outbox", { keyPath: "client_msg_id" });
    },
  });
  return dbPromise;
}

/** The last ~50 messages: still a run ending at the newest, so events continue it. */
function trim(window: MessageWindow): MessageWindow {
  if (window.messages.length <= CACHED_MESSAGES) return window;
  return { messages: window.messages.slice(-CACHED_MESSAGES), hasOlder: true };
}

export async function saveSnapshot(state: ChatState): Promise<void> {
  const database = await db();
  const tx = database.transaction(["kv", "windows"], "readwrite");
  const { windows, missing: _missing, members, ...rest } = state;
  const recent = sortedChats(state).slice(0, CACHED_CHATS).map((chat) => chat.id);
  const keptMembers = Object.fromEntries(recent.filter((id) => members[id]).map((id) => [id, members[id] as Member[]]));
  await tx.objectStore("kv").put({ ...rest, members: keptMembers }, "state");
  const store = tx.objectStore("windows");
  await store.clear();
  for (const chatId of recent) {
    const window = windows[chatId];
    if (window) await store.put({ chatId, window: trim(window) });
  }
  await tx.done;
  markCopy(true);
}

// index.html prefetches the chat list only on a device without a saved copy (the
// copy shows the list at once anyway); this flag tells it which case it is.
const COPY_FLAG = "parta.has_copy";

function markCopy(present: boolean): void {
  try {
    if (present) localStorage.setItem(COPY_FLAG, "1");
    else localStorage.removeItem(COPY_FLAG);
  } catch {
    // no storage: index.html prefetches every time, which is merely wasteful
  }
}

/** The saved state of `me`, or null (nothing saved, or another person's). */
export async function loadSnapshot(me: number | null): Promise<ChatState | null> {
  const database = await db();
  const snapshot = await database.get("kv", "state");
  if (!snapshot || (me !== null && snapshot.me !== null && snapshot.me !== me)) return null;
  const windows: Record<number, MessageWindow> = {};
  for (const row of await database.getAll("windows")) windows[row.chatId] = row.window;
  return { ...emptyState(snapshot.me), ...snapshot, windows, missing: [] };
}

export async function outboxAll(): Promise<OutboxItem[]> {
  const items = await (await db()).getAll("outbox");
  return items.sort((a, b) => a.seq - b.seq);
}

export async function outboxPut(item: OutboxItem): Promise<void> {
  await (await db()).put("outbox", item);
}

export async function outboxDelete(clientMsgId: string): Promise<void> {
  await (await db()).delete("outbox", clientMsgId);
}

/** Forget everything (sign-out). */
export async function clearCache(): Promise<void> {
  const database = await db();
  const tx = database.transaction(["kv", "windows", "outbox"], "readwrite");
  await Promise.all([tx.objectStore("kv").clear(), tx.objectStore("windows").clear(), tx.objectStore("outbox").clear(), tx.done]);
  markCopy(false);
}
