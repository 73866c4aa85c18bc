import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { COMMENT_MAX, checkReport, reportBody } from "./report";
import { ReportDialog } from ".";

describe("checkReport", () => {
  it("needs a reason", () => {
    expect(checkReport({ reason: null, comment: "что-то" })).toEqual({ field: "reason", key: "safety.report.need_reason" });
  });

  it("accepts a reason without a comment", () => {
    expect(checkReport({ reason: "spam", comment: "" })).toBeNull();
  });

  it("needs a few words for 'other'", () => {
    expect(checkReport({ reason: "other", comment: "   " })?.key).toBe("safety.report.need_comment");
    expect(checkReport({ reason: "other", comment: "обзывается" })).toBeNull();
  });

  it("keeps the comment within the server's limit", () => {
    expect(checkReport({ reason: "abuse", comment: "я".repeat(COMMENT_MAX) })).toBeNull();
    expect(checkReport({ reason: "abuse", comment: "я".repeat(COMMENT_MAX + 1) })?.field).toBe("comment");
  });

  it("builds a body for exactly one target", () => {
    expect(reportBody({ reason: "spam", comment: " реклама " }, { messageId: 7 })).toEqual({ reason: "spam", comment: "реклама", message_id: 7 });
    expect(reportBody({ reason: "danger", comment: "" }, { userId: 3 })).toEqual({ reason: "danger", comment: "", user_id: 3 });
  });
});

describe("ReportDialog", () => {
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  function stubFetch(status: number, body: unknown) {
    const fetch = vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
    vi.stubGlobal("fetch", fetch);
    return fetch;
  }

  it("does not send without a reason, then sends the chosen one", async () => {
    const fetch = stubFetch(201, { id: 1, reason: "abuse", status: "open", created_at: "2030-01-01T00:00:00Z" });
    render(<ReportDialog messageId={42} onClose={() => undefined} />);
    fireEvent.click(screen.getByRole("button", { name: "Отправить жалобу" }));
    expect(await screen.findByText("Выберите причину.")).toBeTruthy();
    expect(fetch).not.toHaveBeenCalled();

    fireEvent.click(screen.getByLabelText("Оскорбления или травля"));
    fireEvent.input(screen.getByLabelText("Комментарий"), { target: { value: "обзывает" } });
    fireEvent.click(screen.getByRole("button", { name: "Отправить жалобу" }));
    expect(await screen.findByText("Спасибо, жалоба отправлена.")).toBeTruthy();
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/v1/reports");
    expect(JSON.parse(String(init.body))).toEqual({ reason: "abuse", comment: "обзывает", message_id: 42 });
  });

  it("keeps what was typed when the server refuses", async () => {
    stubFetch(404, { error: { code: "message_not_found", message: "Сообщение не найдено." } });
    render(<ReportDialog messageId={5} onClose={() => undefined} />);
    fireEvent.click(screen.getByLabelText("Другое"));
    fireEvent.click(screen.getByRole("button", { name: "Отправить жалобу" }));
    expect(await screen.findByText("Опишите, что случилось.")).toBeTruthy();
    fireEvent.input(screen.getByLabelText("Комментарий"), { target: { value: "странные ссылки" } });
    fireEvent.click(screen.getByRole("button", { name: "Отправить жалобу" }));
    expect(await screen.findByText("Сообщение не найдено.")).toBeTruthy();
    await waitFor(() => expect((screen.getByLabelText("Комментарий") as HTMLTextAreaElement).value).toBe("странные ссылки"));
    expect((screen.getByLabelText("Другое") as HTMLInputElement).checked).toBe(true);
  });
});
