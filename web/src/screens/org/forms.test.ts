import { describe, expect, it } from "vitest";
import { EMPTY_ORG_FORM, inviteBody, orgBody, validateInviteForm, validateOrgForm } from "./forms";

const valid = { ...EMPTY_ORG_FORM, full_name: "МБОУ «Школа № 17»", short_name: "Школа № 17", region: "77" };

describe("organization form", () => {
  it("needs both names and a two-digit region", () => {
    expect(Object.keys(validateOrgForm(EMPTY_ORG_FORM)).sort()).toEqual(["full_name", "region", "short_name"]);
    expect(validateOrgForm(valid)).toEqual({});
    expect(validateOrgForm({ ...valid, region: "Москва" })).toHaveProperty("region");
  });

  it("checks the length of INN and OGRN (the server checks their check digits)", () => {
    expect(validateOrgForm({ ...valid, inn: "12345" })).toHaveProperty("inn");
    expect(validateOrgForm({ ...valid, inn: "7707083893", ogrn: "1027700132195" })).toEqual({});
    expect(validateOrgForm({ ...valid, ogrn: "123" })).toHaveProperty("ogrn");
    expect(validateOrgForm({ ...valid, email: "nope" })).toHaveProperty("email");
  });

  it("sends only the fields that were filled in", () => {
    expect(orgBody({ ...valid, address: "  " })).toEqual({
      kind: "school",
      full_name: "МБОУ «Школа № 17»",
      short_name: "Школа № 17",
      region: "77",
    });
  });
});

describe("invite form", () => {
  it("turns days into seconds and leaves empty limits out", () => {
    const form = { role: "parent", class_id: "4", expires_days: "7", usage_limit: "", requires_approval: false };
    expect(validateInviteForm(form)).toEqual({});
    expect(inviteBody(form)).toEqual({ role: "parent", class_id: 4, expires_in_seconds: 604800, requires_approval: false });
  });

  it("refuses nonsense numbers", () => {
    const form = { role: "parent", class_id: "", expires_days: "0", usage_limit: "-2", requires_approval: true };
    expect(Object.keys(validateInviteForm(form)).sort()).toEqual(["expires_days", "usage_limit"]);
  });
});
