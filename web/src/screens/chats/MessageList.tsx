// A windowed message list: only the rows in view (plus a margin) are in the DOM, so a
// chat with 10,000 loaded messages scrolls like one with 50. Row heights vary and are
// measured once shown; until then an estimate stands in. The scroll position is
// anchored to a row, so older pages added above (or a row growing) do not move what
// the reader sees. At the bottom the list follows new messages; elsewhere it offers
// "↓ N новых".
import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Message } from "../../api/types";
import { plural, t } from "../../i18n";
import type { OutboxItem } from "../../store/outbox";
import { dayKey, formatDay } from "./format";

export type Row =
  | { kind: "day"; key: string; label: string }
  | { kind: "message"; key: string; message: Message; continued: boolean }
  | { kind: "pending"; key: string; item: OutboxItem };

const ESTIMATE = { day: 40, message: 72, pending: 64 } as const;
/** Pixels rendered beyond the viewport on each side. */
const OVERSCAN = 800;
/** Start loading older history this close to the top. */
const LOAD_MARGIN = 1200;
const BOTTOM_SLACK = 48;
/** Without layout (tests, a hidden tab) assume a phone-sized viewport. */
const FALLBACK_VIEWPORT = 800;

/** Day separators, and whether a message continues its sender's run (no name again). */
export function buildRows(messages: Message[], pending: OutboxItem[], now: Date = new Date()): Row[] {
  const rows: Row[] = [];
  let day = "";
  let previous: Message | null = null;
  for (const message of messages) {
    const key = dayKey(message.created_at);
    if (key !== day) {
      rows.push({ kind: "day", key: `d${key}`, label: formatDay(message.created_at, now) });
      day = key;
      previous = null;
    }
    const continued = previous !== null && previous.sender_id === message.sender_id && !previous.is_deleted;
    rows.push({ kind: "message", key: `m${message.id}`, message, continued });
    previous = message;
  }
  const stored = new Set(messages.map((message) => message.client_msg_id).filter(Boolean));
  for (const item of pending) if (!stored.has(item.client_msg_id)) rows.push({ kind: "pending", key: `p${item.client_msg_id}`, item });
  return rows;
}

/** Prefix sums: offsets[i] is the top of row i, offsets[rows.length] the total height. */
export function rowOffsets(rows: Row[], heights: Map<string, number>): number[] {
  const offsets = new Array<number>(rows.length + 1);
  offsets[0] = 0;
  rows.forEach((row, index) => {
    offsets[index + 1] = (offsets[index] as number) + (heights.get(row.key) ?? ESTIMATE[row.kind]);
  });
  return offsets;
}

/** The first row whose bottom is below `y` (binary search over the offsets). */
export function rowAt(offsets: number[], y: number): number {
  let low = 0;
  let high = offsets.length - 2;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((offsets[mid + 1] as number) <= y) low = mid + 1;
    else high = mid;
  }
  return Math.max(0, low);
}

/** The rows to render for a viewport: [start, end). */
export function visibleRange(offsets: number[], top: number, height: number, overscan: number = OVERSCAN): [number, number] {
  const count = offsets.length - 1;
  if (count <= 0) return [0, 0];
  const start = rowAt(offsets, Math.max(0, top - overscan));
  const end = Math.min(count, rowAt(offsets, top + height + overscan) + 1);
  return [start, end];
}

type Props = {
  rows: Row[];
  hasOlder: boolean;
  loadOlder: () => Promise<unknown>;
  renderRow: (row: Row) => ComponentChildren;
  /** The newest message row that is on screen changed. */
  onNewestVisible?: (messageId: number) => void;
  /** Scroll to this row (e.g. a reply's original) and highlight it. */
  focusKey?: string | null;
  label: string;
};

export function MessageList({ rows, hasOlder, loadOlder, renderRow, onNewestVisible, focusKey, label }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const [version, setVersion] = useState(0);
  const [view, setView] = useState({ top: 0, height: FALLBACK_VIEWPORT });
  const atBottom = useRef(true);
  const anchor = useRef<{ key: string; delta: number } | null>(null);
  const loading = useRef(false);
  const [seenNewest, setSeenNewest] = useState<string | null>(null);
  const offsets = useMemo(() => rowOffsets(rows, heights.current), [rows, version]);
  const [start, end] = visibleRange(offsets, view.top, view.height);
  const total = offsets[rows.length] ?? 0;
  const lastKey = rows[rows.length - 1]?.key ?? null;

  const captureAnchor = (top: number) => {
    const index = rowAt(offsets, top);
    const row = rows[index];
    anchor.current = row ? { key: row.key, delta: (offsets[index] as number) - top } : null;
  };

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    const height = element.clientHeight || FALLBACK_VIEWPORT;
    atBottom.current = element.scrollHeight - element.scrollTop - height < BOTTOM_SLACK;
    if (atBottom.current) setSeenNewest(lastKey);
    captureAnchor(element.scrollTop);
    setView({ top: element.scrollTop, height });
    if (hasOlder && !loading.current && element.scrollTop < LOAD_MARGIN) {
      loading.current = true;
      void loadOlder().finally(() => {
        loading.current = false;
      });
    }
  };

  // Measure the rendered rows; a changed height re-lays out (the anchor keeps the view still).
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    let changed = false;
    for (const child of Array.from(element.querySelectorAll<HTMLElement>("[data-row]"))) {
      const key = child.dataset.row as string;
      const height = child.getBoundingClientRect().height;
      if (height > 0 && Math.abs((heights.current.get(key) ?? -1) - height) > 0.5) {
        heights.current.set(key, height);
        changed = true;
      }
    }
    if (changed) setVersion((n) => n + 1);
  });

  // Keep the reader's place: stick to the bottom, or to the anchored row.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    if (focusKey) return;
    const height = element.clientHeight || FALLBACK_VIEWPORT;
    if (atBottom.current) {
      element.scrollTop = element.scrollHeight;
      // From our offsets, not the DOM: right after a change the DOM may not be laid out yet.
      const top = Math.max(element.scrollTop, total - height);
      if (top !== view.top || height !== view.height) setView({ top, height });
      return;
    }
    if (anchor.current) {
      const index = rows.findIndex((row) => row.key === anchor.current?.key);
      if (index >= 0) {
        const wanted = (offsets[index] as number) - anchor.current.delta;
        if (Math.abs(element.scrollTop - wanted) > 1) element.scrollTop = wanted;
      }
    }
    if (element.scrollTop !== view.top || height !== view.height) setView({ top: element.scrollTop, height });
  }, [offsets, rows]);

  // Jump to a row (a reply's original, a search hit).
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || !focusKey) return;
    const index = rows.findIndex((row) => row.key === focusKey);
    if (index < 0) return;
    atBottom.current = false;
    const top = Math.max(0, (offsets[index] as number) - (element.clientHeight || FALLBACK_VIEWPORT) / 3);
    element.scrollTop = top;
    captureAnchor(top);
    setView({ top, height: element.clientHeight || FALLBACK_VIEWPORT });
  }, [focusKey, rows.length]);

  // Report the newest message row on screen (for read markers).
  useEffect(() => {
    if (!onNewestVisible) return;
    const bottom = view.top + view.height;
    for (let index = Math.min(end, rows.length) - 1; index >= start; index--) {
      const row = rows[index];
      if (row?.kind === "message" && (offsets[index] as number) < bottom) {
        onNewestVisible(row.message.id);
        return;
      }
    }
  }, [start, end, view, rows]);

  const firstUnseen = seenNewest === null ? -1 : rows.findIndex((row) => row.key === seenNewest);
  const newCount = atBottom.current || firstUnseen < 0 ? 0 : rows.slice(firstUnseen + 1).filter((row) => row.kind === "message").length;

  const toBottom = () => {
    const element = scroller.current;
    if (!element) return;
    atBottom.current = true;
    element.scrollTop = element.scrollHeight;
    setSeenNewest(lastKey);
    setView({ top: element.scrollTop, height: element.clientHeight || FALLBACK_VIEWPORT });
  };

  useEffect(() => {
    if (atBottom.current) setSeenNewest(lastKey);
  }, [lastKey]);

  return (
    <div class="msg-list-wrap">
      <div class="msg-list" ref={scroller} onScroll={onScroll} role="log" aria-label={label} aria-live="polite" aria-relevant="additions" tabIndex={0}>
        <div style={{ paddingTop: `${offsets[start] ?? 0}px`, paddingBottom: `${total - (offsets[end] ?? total)}px` }}>
          {rows.slice(start, end).map((row) => (
            <div key={row.key} data-row={row.key} class={row.key === focusKey ? "msg-row msg-row--focus" : "msg-row"}>
              {renderRow(row)}
            </div>
          ))}
        </div>
      </div>
      {hasOlder && start === 0 && view.top < LOAD_MARGIN && (
        <div class="msg-list__more muted" role="status">
          {t("common.loading")}
        </div>
      )}
      {newCount > 0 && (
        <button type="button" class="btn btn--primary msg-list__new" onClick={toBottom}>
          ↓ {plural(newCount, "chats.new_messages")}
        </button>
      )}
    </div>
  );
}
