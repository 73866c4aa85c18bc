import { describe, expect, it } from "vitest";
import { deviceName } from "./device";
import { profileBody, validateProfile } from "./profile";

const today = new Date("2025-09-01T00:00:00Z");

describe("profile form", () => {
  it("needs a first name", () => {
    expect(validateProfile({ first_name: "", last_name: "", birth_date: null }, today)).toHaveProperty("first_name");
    expect(validateProfile({ first_name: "Мария", last_name: "", birth_date: null }, today)).toEqual({});
  });

  it("refuses a birth date in the future or a long name", () => {
    expect(validateProfile({ first_name: "Аня", last_name: "", birth_date: "2030-01-01" }, today)).toHaveProperty("birth_date");
    expect(validateProfile({ first_name: "Аня", last_name: "x".repeat(65), birth_date: null }, today)).toHaveProperty("last_name");
    expect(validateProfile({ first_name: "Аня", last_name: "", birth_date: "2014-05-02" }, today)).toEqual({});
  });

  it("leaves empty optional fields out of the request", () => {
    expect(profileBody({ first_name: "Аня", last_name: "", birth_date: null })).toEqual({ first_name: "Аня" });
    expect(profileBody({ first_name: "Аня", last_name: "Лис", birth_date: "2014-05-02" })).toEqual({
      first_name: "Аня",
      last_name: "Лис",
      birth_date: "2014-05-02",
    });
  });
});

describe("device name", () => {
  it("names browser and system", () => {
    const android = "Mozilla/5.0 (Linux; Android 13; SM-A515F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36";
    const yandex = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 YaBrowser/24.1 Safari/537.36";
    const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
    expect(deviceName(android)).toBe("Chrome, Android");
    expect(deviceName(yandex)).toBe("Яндекс Браузер, Windows");
    expect(deviceName(iphone)).toBe("Safari, iPhone");
    expect(deviceName("")).toBe("Браузер");
  });
});
