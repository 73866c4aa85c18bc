import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ServerEvent } from "../../../api/types";
import { publish } from "../../../net/events";
import { MAX_FILE_BYTES, TYPING_TTL_MS, fileSizeError, filterMentions, formatPhone, formatSize, inviteUrl, receipt, typingText } from "./logic";
import { clearTyping, onTypingChange, typingUsers } from "./typing";

describe("read receipt", () => {
  it("shows one tick until someone reads", () => {
    expect(receipt(0, 12, false)).toEqual({ mark: "✓", text: "Отправлено" });
  });
  it("counts the others (the author is not one of M)", () => {
    expect(receipt(3, 13, false)).toEqual({ mark: "✓✓", text: "прочитали 3 из 12" });
  });
  it("agrees the verb with the number", () => {
    expect(receipt(1, 13, false).text).toBe("прочитал 1 из 12");
    expect(receipt(21, 30, false).text).toBe("прочитал 21 из 29");
    expect(receipt(11, 30, false).text).toBe("прочитали 11 из 29");
    expect(receipt(5, 30, false).text).toBe("прочитали 5 из 29");
  });
  it("says just read in a direct chat", () => {
    expect(receipt(1, 2, true)).toEqual({ mark: "✓✓", text: "Прочитано" });
  });
});

describe("typing", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    clearTyping(7, 1);
    clearTyping(7, 2);
    vi.useRealTimers();
  });

  it("names one, two or many", () => {
    expect(typingText(["Мария"])).toBe("Мария печатает…");
    expect(typingText(["Мария", "Олег"])).toBe("Мария и Олег печатают…");
    expect(typingText(["Мария", "Олег", "Анна", "Иван"])).toBe("Мария, Олег и ещё 2 печатают…");
    expect(typingText([])).toBe("");
  });

  it("expires after the time to live unless repeated", () => {
    const changes = vi.fn();
    const stop = onTypingChange(7, changes);
    const frame = (userId: number) => ({ type: "typing", chat_id: 7, user_id: userId }) as unknown as ServerEvent;
    publish(frame(1));
    expect(typingUsers(7)).toEqual([1]);
    vi.advanceTimersByTime(TYPING_TTL_MS - 1000);
    publish(frame(1)); // still typing: the clock restarts
    vi.advanceTimersByTime(TYPING_TTL_MS - 1000);
    expect(typingUsers(7)).toEqual([1]);
    vi.advanceTimersByTime(1001);
    expect(typingUsers(7)).toEqual([]);
    expect(changes).toHaveBeenCalledTimes(2); // started, stopped
    stop();
  });

  it("ends when the person's message arrives", () => {
    publish({ type: "typing", id: 0, at: "", data: { chat_id: 7, user_id: 2 } } as ServerEvent);
    expect(typingUsers(7)).toEqual([2]);
    publish({ type: "message.created", id: 1, at: "", chat_id: 7, data: { message: { id: 5, chat_id: 7, sender_id: 2 } } } as ServerEvent);
    expect(typingUsers(7)).toEqual([]);
  });
});

describe("mentions", () => {
  const members = [
    { id: 1, first_name: "Мария", last_name: "Петрова" },
    { id: 2, first_name: "Олег", last_name: "Марков" },
    { id: 3, first_name: "Артём", last_name: "Ёлкин" },
    { id: 4, first_name: "Ученик", last_name: null, is_masked: true },
    { id: 5, first_name: "Марина", last_name: "Иванова" },
  ];
  it("matches first names before last names", () => {
    expect(filterMentions(members, "мар", null).map((m) => m.id)).toEqual([5, 1, 2]); // Марина, Мария, then Марков
  });
  it("ignores case and ё", () => {
    expect(filterMentions(members, "ЕЛК", null).map((m) => m.id)).toEqual([3]);
    expect(filterMentions(members, "артем", null).map((m) => m.id)).toEqual([3]);
  });
  it("matches the full name", () => {
    expect(filterMentions(members, "мария п", null).map((m) => m.id)).toEqual([1]);
  });
  it("never suggests yourself or a masked child", () => {
    expect(filterMentions(members, "", 1).map((m) => m.id)).toEqual([3, 5, 2]);
    expect(filterMentions(members, "уч", null)).toEqual([]);
  });
  it("limits the list", () => {
    expect(filterMentions(members, "", null, 2)).toHaveLength(2);
  });
});

describe("file size", () => {
  it("accepts up to 20 MB", () => {
    expect(fileSizeError(MAX_FILE_BYTES)).toBeNull();
    expect(fileSizeError(1)).toBeNull();
  });
  it("refuses larger and empty files with a reason", () => {
    expect(fileSizeError(MAX_FILE_BYTES + 1)).toBe("Файл слишком большой (20 МБ). Можно до 20 МБ.");
    expect(fileSizeError(25 * 1024 * 1024)).toContain("25 МБ");
    expect(fileSizeError(0)).toBe("Файл пустой.");
  });
  it("formats sizes", () => {
    expect(formatSize(512)).toBe("512 Б");
    expect(formatSize(1536)).toBe("1,5 КБ");
    expect(formatSize(81234)).toBe("79 КБ");
  });
});

describe("phone and links", () => {
  it("formats a phone as it is typed", () => {
    expect(formatPhone("7")).toBe("+7");
    expect(formatPhone("+79")).toBe("+7 (9");
    expect(formatPhone("89123456789")).toBe("8 (912) 345-67-89");
    expect(formatPhone("+7 912 345 67 89")).toBe("+7 (912) 345-67-89");
    expect(formatPhone("9123")).toBe("(912) 3");
    expect(formatPhone("+44 20")).toBe("+4420");
  });
  it("builds the invite address", () => {
    expect(inviteUrl("https://parta.school.ru", "abc")).toBe("https://parta.school.ru/join/abc");
  });
});
