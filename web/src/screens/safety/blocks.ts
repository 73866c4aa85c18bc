// My block list, shared by every BlockToggle and the BlockedList on the page. Loaded
// once (all pages: people block few others), then kept current by the server's
// `user.blocked` / `user.unblocked` events, which reach all my devices.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Schemas } from "../../api/client";
import { subscribe } from "../../net/events";
import { onSignOut } from "../../store/session";

export type Block = Schemas["BlockOut"];
type State = { blocks: Block[] | null; error: unknown };

let state: State = { blocks: null, error: null };
let loading: Promise<void> | null = null;
const listeners = new Set<(value: State) => void>();

function emit(next: State): void {
  state = next;
  listeners.forEach((listener) => listener(state));
}

async function fetchAll(): Promise<Block[]> {
  const all: Block[] = [];
  let cursor: number | undefined;
  for (;;) {
    const page = await api<Schemas["BlockList"]>("GET", "/me/blocks", undefined, { query: { cursor, limit: 100 } });
    all.push(...page.blocks);
    if (page.next_cursor === null || page.next_cursor === undefined) return all;
    cursor = page.next_cursor;
  }
}

/** (Re)load the list; concurrent callers share one request. */
export function loadBlocks(): Promise<void> {
  loading ??= fetchAll()
    .then((blocks) => emit({ blocks, error: null }))
    .catch((error: unknown) => emit({ blocks: state.blocks, error }))
    .finally(() => {
      loading = null;
    });
  return loading;
}

export function applyBlocked(block: Block): void {
  const others = (state.blocks ?? []).filter((item) => item.user.id !== block.user.id);
  emit({ blocks: [block, ...others], error: null });
}

export function applyUnblocked(userId: number): void {
  emit({ blocks: (state.blocks ?? []).filter((item) => item.user.id !== userId), error: null });
}

let wired = false;
function wire(): void {
  if (wired) return;
  wired = true;
  subscribe("user.blocked", (event) => {
    const block = event.data as Block;
    if (block.user) applyBlocked(block);
  });
  subscribe("user.unblocked", (event) => applyUnblocked(Number(event.data.user_id)));
  onSignOut(() => emit({ blocks: null, error: null }));
}

/** The list and the last load error; loads it on first use. */
export function useBlocks(): State {
  const [value, setValue] = useState(state);
  useEffect(() => {
    wire();
    listeners.add(setValue);
    setValue(state);
    if (state.blocks === null) void loadBlocks();
    return () => {
      listeners.delete(setValue);
    };
  }, []);
  return value;
}
