// How a person is named on the safety, parent and profile screens. A masked child (in
// safe mode, seen from outside their circle) has no name: the server gives only
// their school, and that is all we show.
import type { UserPublic } from "../../api/types";
import { t } from "../../i18n";

export function personName(user: UserPublic): string {
  if (user.is_masked) return user.school ? t("safety.masked_school", { school: user.school }) : t("safety.masked");
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  return name || t("safety.no_name");
}
