import { describe, expect, it } from "vitest";
import { dayKey, formatListTime, formatPhoneInput, personName, previewText } from "./format";

describe("formatPhoneInput", () => {
  it("formats a Russian number while it is typed", () => {
    expect(formatPhoneInput("")).toBe("");
    expect(formatPhoneInput("+")).toBe("+");
    expect(formatPhoneInput("8")).toBe("+7");
    expect(formatPhoneInput("891")).toBe("+7 (91");
    expect(formatPhoneInput("8912")).toBe("+7 (912)");
    expect(formatPhoneInput("89123")).toBe("+7 (912) 3");
    expect(formatPhoneInput("8912345")).toBe("+7 (912) 345");
    expect(formatPhoneInput("89123456")).toBe("+7 (912) 345-6");
    expect(formatPhoneInput("+7 912 345 67 89")).toBe("+7 (912) 345-67-89");
    expect(formatPhoneInput("9123456789")).toBe("+7 (912) 345-67-89");
    expect(formatPhoneInput("8 (912) 345-67-89 0")).toBe("+7 (912) 345-67-89");
  });

  it("keeps other countries as digits", () => {
    expect(formatPhoneInput("+375 29 123")).toBe("+37529123");
  });
});

describe("times", () => {
  const now = new Date(2025, 2, 14, 15, 0); // Friday, 14 March 2025, local time
  it("shows today's time, this week's weekday, else the date", () => {
    expect(formatListTime(new Date(2025, 2, 14, 9, 5).toISOString(), now, "ru-RU")).toBe("09:05");
    expect(formatListTime(new Date(2025, 2, 11, 9, 5).toISOString(), now, "ru-RU")).toBe("вт");
    expect(formatListTime(new Date(2025, 0, 2, 9, 5).toISOString(), now, "ru-RU")).toMatch(/2 янв/);
    expect(formatListTime(new Date(2023, 0, 2, 9, 5).toISOString(), now, "ru-RU")).toBe("02.01.23");
  });

  it("groups by local day", () => {
    expect(dayKey(new Date(2025, 2, 14, 0, 1).toISOString())).toBe(dayKey(new Date(2025, 2, 14, 23, 59).toISOString()));
    expect(dayKey(new Date(2025, 2, 14).toISOString())).not.toBe(dayKey(new Date(2025, 2, 15).toISOString()));
  });
});

describe("names and previews", () => {
  it("shows masked children as the server gives them", () => {
    expect(personName({ first_name: "Ученик", is_masked: true, school: "Школа №1" })).toBe("Ученик (Школа №1)");
    expect(personName({ first_name: "Мария", last_name: "Петровна" })).toBe("Мария Петровна");
    expect(personName(undefined)).toBe("Участник");
  });

  it("previews photos and files", () => {
    const base = { id: 1, chat_id: 1, created_at: "2025-01-01T00:00:00Z" };
    expect(previewText({ ...base, text: "", file: { id: 1, name: "a.jpg", mime_type: "image/jpeg", size: 1 } })).toBe("🖼 фото");
    expect(previewText({ ...base, text: "справка", file: { id: 1, name: "a.pdf", mime_type: "application/pdf", size: 1 } })).toBe("📎 файл справка");
    expect(previewText({ ...base, text: "a\n b" })).toBe("a b");
    expect(previewText({ ...base, is_deleted: true })).toBe("Сообщение удалено");
  });
});
