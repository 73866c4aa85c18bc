import { render } from "@testing-library/preact";
import { describe, expect, it } from "vitest";
import type { Message } from "../../api/types";
import { MessageList, buildRows, rowOffsets, visibleRange } from "./MessageList";

function messages(count: number): Message[] {
  const start = Date.UTC(2025, 0, 1);
  return Array.from({ length: count }, (_, index) => ({
    id: index + 1,
    chat_id: 1,
    sender_id: (index % 3) + 1,
    text: `Сообщение ${index + 1}`,
    created_at: new Date(start + index * 60_000).toISOString(),
  }));
}

describe("windowed message list", () => {
  it("renders only a window of 10,000 messages, ending at the newest", () => {
    const rows = buildRows(messages(10_000), []);
    const { container } = render(
      <MessageList rows={rows} hasOlder={false} loadOlder={async () => undefined} label="Сообщения" renderRow={(row) => (row.kind === "message" ? <p class="m">{row.message.text}</p> : <hr />)} />,
    );
    const shown = container.querySelectorAll("[data-row]");
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(100);
    expect(container.textContent).toContain("Сообщение 10000");
    expect(container.textContent).not.toContain("Сообщение 1 ");
  });

  it("computes the range from offsets", () => {
    const rows = buildRows(messages(1000), []);
    const offsets = rowOffsets(rows, new Map());
    const [start, end] = visibleRange(offsets, 5000, 800, 0);
    expect(start).toBeGreaterThan(0);
    expect(end - start).toBeLessThan(20);
    expect(offsets[start]!).toBeLessThanOrEqual(5000);
    expect(offsets[end]!).toBeGreaterThanOrEqual(5800);
  });

  it("adds day separators and hides pending copies the server already has", () => {
    const list = messages(2).map((m, i) => ({ ...m, created_at: i ? "2025-01-02T12:00:00Z" : "2025-01-01T12:00:00Z", client_msg_id: `c${i}` }));
    const pending = [
      { client_msg_id: "c1", chat_id: 1, text: "x", created_at: "", seq: 1, status: "pending" as const },
      { client_msg_id: "c9", chat_id: 1, text: "y", created_at: "", seq: 2, status: "pending" as const },
    ];
    expect(buildRows(list, pending).map((row) => row.kind)).toEqual(["day", "message", "day", "message", "pending"]);
  });
});
