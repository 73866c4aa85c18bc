// Dates, times and phone numbers as people read them. Pure functions: `now` and the
// locale are parameters so tests do not depend on the clock or the machine.
import type { Message } from "../../api/types";
import { locale, t } from "../../i18n";

const DAY = 24 * 60 * 60 * 1000;

function startOfDay(date: Date): number {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** "14:05" in the device's time zone. */
export function formatClock(iso: string, lang: string = locale()): string {
  return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

/** The chat list's time: today HH:MM, within the week the weekday, else the date. */
export function formatListTime(iso: string, now: Date = new Date(), lang: string = locale()): string {
  const date = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (days <= 0) return formatClock(iso, lang);
  if (days < 7) return date.toLocaleDateString(lang, { weekday: "short" });
  if (date.getFullYear() === now.getFullYear()) return date.toLocaleDateString(lang, { day: "numeric", month: "short" });
  return date.toLocaleDateString(lang, { day: "2-digit", month: "2-digit", year: "2-digit" });
}

/** A day separator: "Сегодня", "Вчера", "5 марта", "5 марта 2023". */
export function formatDay(iso: string, now: Date = new Date(), lang: string = locale()): string {
  const date = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (days === 0) return t("chats.today");
  if (days === 1) return t("chats.yesterday");
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString(lang, sameYear ? { day: "numeric", month: "long" } : { day: "numeric", month: "long", year: "numeric" });
}

/** A key that is equal for two times on the same local day (for day separators). */
export function dayKey(iso: string): string {
  const date = new Date(iso);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/**
 * A Russian phone formatted while it is typed: "+7 (912) 345-67-89". A leading 8 or 9
 * is read as a Russian number; anything that is not a Russian number (another country
 * code) keeps its digits with a plus, so the server can still normalize it.
 */
export function formatPhoneInput(raw: string): string {
  let digits = raw.replace(/\D/g, "");
  if (!digits) return raw.trim().startsWith("+") ? "+" : "";
  if (digits[0] === "8") digits = `7${digits.slice(1)}`;
  else if (digits[0] === "9") digits = `7${digits}`;
  if (digits[0] !== "7") return `+${digits.slice(0, 15)}`;
  const rest = digits.slice(1, 11);
  let out = "+7";
  if (rest.length > 0) out += ` (${rest.slice(0, 3)}`;
  if (rest.length >= 3) out += ")";
  if (rest.length > 3) out += ` ${rest.slice(3, 6)}`;
  if (rest.length > 6) out += `-${rest.slice(6, 8)}`;
  if (rest.length > 8) out += `-${rest.slice(8, 10)}`;
  return out;
}

/** A person's display name from the server's user card (masked children as given). */
export function personName(user: { first_name?: string | null; last_name?: string | null; is_masked?: boolean | null; school?: string | null } | null | undefined): string {
  if (!user) return t("chats.someone");
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  if (user.is_masked && user.school) return `${name || t("chats.someone")} (${user.school})`;
  return name || t("chats.someone");
}

/** "📎 файл", "🖼 фото", or the text, for a list preview. */
export function previewText(message: Message | null | undefined): string {
  if (!message) return "";
  if (message.is_deleted) return t("chats.deleted");
  const text = (message.text ?? "").replace(/\s+/g, " ").trim();
  if (message.file) {
    const label = message.file.mime_type.startsWith("image/") ? t("chats.preview.photo") : t("chats.preview.file");
    return text ? `${label} ${text}` : label;
  }
  return text;
}

