import { describe, expect, it } from "vitest";
import { formatPhoneInput, isCompletePhone, nextPhoneValue } from "./phone";

/** Types `text` one character at a time into an empty field. */
function type(text: string): string {
  let value = "";
  for (const char of text) value = nextPhoneValue(value, value + char);
  return value;
}

describe("phone input", () => {
  it("formats a Russian number as it is typed", () => {
    expect(type("8")).toBe("+7");
    expect(type("89")).toBe("+7 (9");
    expect(type("8912")).toBe("+7 (912)");
    expect(type("89123")).toBe("+7 (912) 3");
    expect(type("8912345678")).toBe("+7 (912) 345-67-8");
    expect(type("89123456789")).toBe("+7 (912) 345-67-89");
  });

  it("treats +7, 8 and a bare 9 the same and stops at 11 digits", () => {
    expect(formatPhoneInput("+7 912 345 67 89")).toBe("+7 (912) 345-67-89");
    expect(formatPhoneInput("9123456789")).toBe("+7 (912) 345-67-89");
    expect(formatPhoneInput("8912345678999")).toBe("+7 (912) 345-67-89");
  });

  it("keeps a foreign number as digits after a plus", () => {
    expect(type("+37529")).toBe("+37529");
  });

  it("deleting a bracket or dash deletes the digit before it", () => {
    expect(nextPhoneValue("+7 (912)", "+7 (912")).toBe("+7 (91");
    expect(nextPhoneValue("+7 (912) 345-6", "+7 (912) 345-")).toBe("+7 (912) 345");
    expect(nextPhoneValue("+7", "+")).toBe("");
  });

  it("knows a complete number", () => {
    expect(isCompletePhone("+7 (912) 345-67-89")).toBe(true);
    expect(isCompletePhone("+7 (912) 345-67")).toBe(false);
    expect(isCompletePhone("+375291234567")).toBe(true);
  });
});
