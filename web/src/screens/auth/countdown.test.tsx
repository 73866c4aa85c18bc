import { act, render, screen } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { formatSeconds, secondsLeft, useCountdown } from "./countdown";

function Clock({ until }: { until: number | null }) {
  const left = useCountdown(until);
  return <p>{left > 0 ? `wait ${formatSeconds(left)}` : "ready"}</p>;
}

describe("resend countdown", () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date("2025-09-01T08:00:00Z") }));
  afterEach(() => vi.useRealTimers());

  it("counts whole seconds and never below zero", () => {
    expect(secondsLeft(null, 0)).toBe(0);
    expect(secondsLeft(60_000, 0)).toBe(60);
    expect(secondsLeft(60_000, 59_100)).toBe(1);
    expect(secondsLeft(60_000, 61_000)).toBe(0);
    expect(formatSeconds(65)).toBe("1:05");
  });

  it("ticks down to ready", () => {
    render(<Clock until={Date.now() + 3_000} />);
    expect(screen.getByText("wait 0:03")).toBeTruthy();
    act(() => void vi.advanceTimersByTime(1_000));
    expect(screen.getByText("wait 0:02")).toBeTruthy();
    act(() => void vi.advanceTimersByTime(2_000));
    expect(screen.getByText("ready")).toBeTruthy();
  });
});
