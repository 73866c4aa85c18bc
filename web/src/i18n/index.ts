// All interface texts live in i18n/ru/*.ts (Russian, the default) and i18n/en/*.ts
// (English, same keys: TypeScript refuses an English dictionary with a missing key).
// Each screen area keeps its own file; the index files merge them.
import ru, { type Dict } from "./ru";

export type Lang = "ru" | "en";
export type TextKey = keyof Dict;
type Params = Record<string, string | number>;

const LANG_KEY = "parta.lang";
let current: Lang = detect();
let dict: Dict = ru;

function detect(): Lang {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === "ru" || saved === "en") return saved;
  } catch {
    // no storage: Russian
  }
  return "ru";
}

/** Loads the English dictionary when chosen (a lazy chunk: most users never need it). */
export async function initI18n(): Promise<void> {
  if (current === "en") dict = (await import("./en")).default;
  document.documentElement.lang = current;
}

export function lang(): Lang {
  return current;
}

/** Switch and reload: every screen re-renders with the new texts. */
export function setLang(value: Lang): void {
  try {
    localStorage.setItem(LANG_KEY, value);
  } catch {
    // ignore
  }
  current = value;
  location.reload();
}

/** Test hook: use a dictionary directly. */
export function useDictForTests(value: Dict, code: Lang): void {
  dict = value;
  current = code;
}

/** The text for a key, with `{name}` placeholders filled. */
export function t(key: TextKey, params?: Params): string {
  const text: string = dict[key] ?? ru[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/**
 * Russian-aware plural: `forms` is "one|few|many" (e.g. "сообщение|сообщения|сообщений");
 * English uses "one|other".
 */
export function plural(count: number, key: TextKey): string {
  const forms = t(key, { n: count }).split("|");
  const rule = new Intl.PluralRules(current === "ru" ? "ru-RU" : "en-US").select(count);
  const russian: Partial<Record<Intl.LDMLPluralRule, number>> = { one: 0, few: 1, many: 2, other: 2 };
  const index = current === "ru" ? (russian[rule] ?? 2) : rule === "one" ? 0 : 1;
  return (forms[index] ?? forms[forms.length - 1] ?? "").trim();
}

export function locale(): string {
  return current === "ru" ? "ru-RU" : "en-GB";
}
