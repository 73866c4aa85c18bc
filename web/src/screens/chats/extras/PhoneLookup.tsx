import { useState } from "preact/hooks";
import { ApiError, api } from "../../../api/client";
import type { UserPublic } from "../../../api/types";
import { t } from "../../../i18n";
import { Button, errorText } from "../../../ui";
import { formatPhone } from "./logic";

/**
 * Finds a person by phone. A child in safe mode, someone who blocked you and a number
 * nobody has all answer `user_not_found`, and all read the same here on purpose.
 */
export function PhoneLookup({ id, label, action, onFound }: { id: string; label: string; action: string; onFound: (user: UserPublic) => void }) {
  const [phone, setPhone] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const find = async (event: Event) => {
    event.preventDefault();
    // A form inside a dialog's form must not submit the outer one.
    event.stopPropagation();
    if (!phone.trim()) {
      setError(t("chatx.lookup.empty"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onFound(await api<UserPublic>("POST", "/users/lookup", { phone }));
      setPhone("");
    } catch (err) {
      setError(err instanceof ApiError && err.code === "user_not_found" ? t("chatx.lookup.notFound") : errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="chatx-lookup" onSubmit={find} noValidate>
      <div class={`field ${error ? "field--error" : ""}`}>
        <label for={id}>{label}</label>
        <div class="row">
          <input
            id={id}
            type="tel"
            inputMode="tel"
            autoComplete="off"
            placeholder="+7 (900) 000-00-00"
            value={phone}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-error` : undefined}
            onInput={(event) => {
              const raw = event.currentTarget.value;
              // Formatting while deleting would put back the brackets being erased.
              const deleting = (event as InputEvent).inputType?.startsWith("delete");
              setPhone(deleting ? raw : formatPhone(raw));
            }}
          />
          <Button type="submit" busy={busy}>
            {action}
          </Button>
        </div>
        {error && (
          <small class="field__error" id={`${id}-error`} role="alert">
            {error}
          </small>
        )}
      </div>
    </form>
  );
}
