// Pure pieces of the chat extras (wording, filtering, limits), kept apart from the
// components so unit tests can check them without rendering.
import { locale, plural, t } from "../../../i18n";

/** The server's upload limit (docs/api.md, "Files and images"); checked before sending
 * 20 MB over a weak mobile link only to have it refused. */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;

/** How long a "печатает…" stays without a new typing signal. The server passes at most
 * one signal per 2 s per person, and clients repeat it while typing. */
export const TYPING_TTL_MS = 6000;

export type Person = {
  id: number;
  first_name?: string | null;
  last_name?: string | null;
  is_masked?: boolean | null;
};

export function fullName(person: Person | null | undefined): string {
  if (!person) return t("chatx.someone");
  const name = [person.first_name, person.last_name].filter(Boolean).join(" ").trim();
  return name || t("chatx.someone");
}

export function firstName(person: Person | null | undefined): string {
  return person?.first_name?.trim() || fullName(person);
}

/** A size for people: "820 КБ", "1,5 МБ". */
export function formatSize(bytes: number): string {
  const format = (value: number) => value.toLocaleString(locale(), { maximumFractionDigits: value < 10 ? 1 : 0 });
  if (bytes < 1024) return t("chatx.size.b", { n: bytes });
  if (bytes < 1024 * 1024) return t("chatx.size.kb", { n: format(bytes / 1024) });
  return t("chatx.size.mb", { n: format(bytes / (1024 * 1024)) });
}

/** The text of the error for a file over the limit, or null when it may be uploaded. */
export function fileSizeError(size: number): string | null {
  if (size > MAX_FILE_BYTES) return t("chatx.attach.tooLarge", { size: formatSize(size), max: formatSize(MAX_FILE_BYTES) });
  if (size === 0) return t("chatx.attach.empty");
  return null;
}

export type Receipt = { mark: "✓" | "✓✓"; text: string };

/**
 * The receipt under an own message. `readBy` counts members other than the author
 * who read it; `memberCount` includes the author, so "of M" is the others.
 */
export function receipt(readBy: number, memberCount: number, isDirect: boolean): Receipt {
  const others = Math.max(memberCount - 1, 0);
  if (readBy <= 0) return { mark: "✓", text: t("chatx.read.sent") };
  if (isDirect || others <= 1) return { mark: "✓✓", text: t("chatx.read.read") };
  return {
    mark: "✓✓",
    text: t("chatx.read.nOfM", { verb: plural(readBy, "chatx.read.verb"), n: readBy, m: others }),
  };
}

/** "Мария печатает…", "Мария и Олег печатают…", "Мария, Олег и ещё 2 печатают…". */
export function typingText(names: string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return t("chatx.typing.one", { a: names[0] ?? "" });
  if (names.length === 2) return t("chatx.typing.two", { a: names[0] ?? "", b: names[1] ?? "" });
  const rest = names.length - 2;
  return t("chatx.typing.many", { a: names[0] ?? "", b: names[1] ?? "", n: rest });
}

function fold(text: string): string {
  return text.toLocaleLowerCase("ru-RU").replace(/ё/g, "е");
}

/**
 * Members to suggest for "@query": people whose first or last name (or the full name)
 * starts with the query, first-name matches first; never yourself nor masked
 * children (the server refuses to mention them).
 */
export function filterMentions<T extends Person>(members: T[], query: string, meId: number | null, limit = 8): T[] {
  const q = fold(query.trim());
  const scored: { member: T; score: number }[] = [];
  for (const member of members) {
    if (member.id === meId || member.is_masked) continue;
    const first = fold(member.first_name ?? "");
    const last = fold(member.last_name ?? "");
    let score = -1;
    if (first.startsWith(q)) score = 0;
    else if (last.startsWith(q)) score = 1;
    else if (fold(`${first} ${last}`).startsWith(q)) score = 2;
    if (score >= 0) scored.push({ member, score });
  }
  scored.sort((a, b) => a.score - b.score || fullName(a.member).localeCompare(fullName(b.member), "ru"));
  return scored.slice(0, limit).map((item) => item.member);
}

/** The invite page address for a token, on this server. */
export function inviteUrl(origin: string, token: string): string {
  return `${origin}/join/${token}`;
}

/** Seconds for the invite expiry choices ("" = never). */
export const INVITE_EXPIRY: { value: string; key: "chatx.invite.exp.hour" | "chatx.invite.exp.day" | "chatx.invite.exp.week" | "chatx.invite.exp.never" }[] = [
  { value: "3600", key: "chatx.invite.exp.hour" },
  { value: "86400", key: "chatx.invite.exp.day" },
  { value: "604800", key: "chatx.invite.exp.week" },
  { value: "", key: "chatx.invite.exp.never" },
];

/**
 * Formats a Russian phone while it is typed: "+7 (912) 345-67-89", "8 (912) 345-67-89",
 * "(912) 345-67-89". Other countries ("+44…") keep their digits as typed.
 */
export function formatPhone(value: string): string {
  const plus = value.trimStart().startsWith("+");
  const digits = value.replace(/\D/g, "").slice(0, 15);
  if (plus && !digits.startsWith("7")) return `+${digits}`;
  let prefix = "";
  let rest = digits;
  if (plus || (digits.startsWith("7") && digits.length > 0)) {
    prefix = "+7 ";
    rest = digits.slice(1);
  } else if (digits.startsWith("8")) {
    prefix = "8 ";
    rest = digits.slice(1);
  }
  if (rest.length > 10) return plus ? `+${digits}` : digits;
  const parts = [rest.slice(0, 3), rest.slice(3, 6), rest.slice(6, 8), rest.slice(8, 10)];
  let text = prefix;
  if (rest.length > 0) text += `(${parts[0]}`;
  if (rest.length >= 3) text += ")";
  if (rest.length > 3) text += ` ${parts[1]}`;
  if (rest.length > 6) text += `-${parts[2]}`;
  if (rest.length > 8) text += `-${parts[3]}`;
  return text.trimEnd();
}
