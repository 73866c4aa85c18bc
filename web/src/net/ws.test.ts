import { describe, expect, it } from "vitest";
import type { ServerEvent } from "../api/types";
import { authFrame, backoffDelay, freshEvents, socketUrl } from "./ws";

const event = (id: number): ServerEvent => ({ id, type: "message.created", at: "2025-01-01T00:00:00Z", chat_id: 1, data: {} });

describe("backoff", () => {
  it("doubles from half a second and stays under the 30 s cap, with jitter", () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(4000);
    expect(backoffDelay(20, () => 1)).toBe(30_000);
    expect(backoffDelay(20, () => 0)).toBe(15_000);
    for (let attempt = 0; attempt < 40; attempt++) expect(backoffDelay(attempt)).toBeLessThanOrEqual(30_000);
  });
});

describe("resume position and dedup", () => {
  it("starts from now without a position and resumes from the last applied id", () => {
    expect(authFrame("tok", null)).toEqual({ type: "auth", token: "tok" });
    expect(authFrame("tok", 41)).toEqual({ type: "auth", token: "tok", since: 41 });
  });

  it("drops events already applied and repeats, and sorts by id", () => {
    const batch = [event(5), event(3), event(4), event(5), event(6)];
    expect(freshEvents(4, batch).map((e) => e.id)).toEqual([5, 6]);
    expect(freshEvents(null, batch).map((e) => e.id)).toEqual([3, 4, 5, 6]);
    expect(freshEvents(10, batch)).toEqual([]);
  });

  it("uses wss on https", () => {
    expect(socketUrl({ protocol: "https:", host: "parta.example" })).toBe("wss://parta.example/api/v1/ws");
    expect(socketUrl({ protocol: "http:", host: "127.0.0.1:8000" })).toBe("ws://127.0.0.1:8000/api/v1/ws");
  });
});
