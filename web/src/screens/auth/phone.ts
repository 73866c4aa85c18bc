// Phone numbers as people type them. Russian numbers are shown as
// "+7 (912) 345-67-89" while typing; the server normalizes whatever we send, so
// this is only for the eye (and for telling a half-typed number early).

/** The digits of a phone string. */
export function phoneDigits(value: string): string {
  return value.replace(/\D/g, "");
}

/** Digits of a Russian number with the country code first ("8…" and "9…" count as +7). */
function russianDigits(digits: string): string {
  if (digits.startsWith("8")) return `7${digits.slice(1)}`;
  if (digits.startsWith("9")) return `7${digits}`;
  return digits;
}

/** Formats what was typed: "89123456789" → "+7 (912) 345-67-89", partial input partially. */
export function formatPhoneInput(value: string): string {
  const raw = phoneDigits(value);
  if (!raw) return value.trim().startsWith("+") ? "+" : "";
  // A foreign number typed with "+": keep it as digits, the server decides.
  if (value.trim().startsWith("+") && !raw.startsWith("7")) return `+${raw.slice(0, 15)}`;
  const digits = russianDigits(raw).slice(0, 11);
  const code = digits.slice(1, 4);
  const a = digits.slice(4, 7);
  const b = digits.slice(7, 9);
  const c = digits.slice(9, 11);
  let text = "+7";
  if (code) text += ` (${code}${code.length === 3 ? ")" : ""}`;
  if (a) text += ` ${a}`;
  if (b) text += `-${b}`;
  if (c) text += `-${c}`;
  return text;
}

/**
 * The next value of a formatted phone input. Deleting a bracket, space or dash
 * would change no digit and the formatting would put it back, leaving the caret
 * stuck; so a deletion that removed no digit removes the digit before it.
 */
export function nextPhoneValue(previous: string, typed: string): string {
  let digits = phoneDigits(typed);
  const deleted = typed.length < previous.length;
  if (deleted && digits === phoneDigits(previous)) digits = digits.slice(0, -1);
  // Only the country code left after deleting: an empty field, not a stuck "+7".
  if (deleted && (digits === "7" || digits === "")) return "";
  return formatPhoneInput(typed.trim().startsWith("+") ? `+${digits}` : digits);
}

/** Whether the number looks complete enough to ask for a code. */
export function isCompletePhone(value: string): boolean {
  const digits = phoneDigits(value);
  if (value.trim().startsWith("+") && !digits.startsWith("7")) return digits.length >= 10;
  return russianDigits(digits).length === 11;
}
