// Small shared building blocks. Screens compose these; anything bigger lives with
// its screen.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ApiError } from "../api/client";
import { t } from "../i18n";
import { useObjectUrl } from "./media";

/** The human message for an error from the server (its Russian text) or the network. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "network_error") return t("error.network");
    return error.message || t("error.unknown");
  }
  return t("error.unknown");
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {errorText(error)}
    </p>
  );
}

export function Spinner({ label }: { label?: string }) {
  return (
    <div class="spinner" role="status" aria-live="polite">
      <span class="spinner__dot" aria-hidden="true" />
      <span class="visually-hidden">{label ?? t("common.loading")}</span>
    </div>
  );
}

type ButtonProps = JSX.HTMLAttributes<HTMLButtonElement> & {
  variant?: "primary" | "secondary" | "danger" | "ghost";
  busy?: boolean;
  type?: "button" | "submit";
  disabled?: boolean;
};

export function Button({ variant = "secondary", busy, type = "button", disabled, children, class: cls, ...rest }: ButtonProps) {
  return (
    <button {...rest} type={type} class={`btn btn--${variant} ${cls ?? ""}`} disabled={disabled || busy} aria-busy={busy ? "true" : undefined}>
      {children}
    </button>
  );
}

/** A labelled input: every field has a visible label and an error tied to it. */
export function Field({
  label,
  error,
  hint,
  children,
  id,
}: {
  label: string;
  id: string;
  error?: string | null;
  hint?: string;
  children: ComponentChildren;
}) {
  return (
    <div class={`field ${error ? "field--error" : ""}`}>
      <label for={id}>{label}</label>
      {children}
      {hint && !error && (
        <small class="field__hint" id={`${id}-hint`}>
          {hint}
        </small>
      )}
      {error && (
        <small class="field__error" id={`${id}-error`} role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

/** A modal dialog using the native <dialog>: focus trap and Esc come with it. */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal?.();
    return () => dialog?.close?.();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-label={title} onCancel={(event) => (event.preventDefault(), onClose())}>
      <header class="dialog__header">
        <h2>{title}</h2>
        <button type="button" class="icon-btn" aria-label={t("common.close")} onClick={onClose}>
          ×
        </button>
      </header>
      <div class="dialog__body">{children}</div>
    </dialog>
  );
}

/** Initials on a coloured circle (or the avatar image when there is one). */
export function Avatar({ name, fileId, size = 40 }: { name: string; fileId?: number | null; size?: number }) {
  const initials = name
    .split(/\s+/)
    // Words only: "5А — родители" gives "5Р", not "5—".
    .filter((word) => /^[\p{L}\p{N}]/u.test(word))
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase())
    .join("");
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  const style = { width: `${size}px`, height: `${size}px`, background: `hsl(${Math.abs(hash) % 360} 45% 42%)` };
  const url = useObjectUrl(fileId ? `/files/${fileId}/thumbnail` : null);
  if (url) return <img class="avatar" style={style} src={url} alt="" />;
  return (
    <span class="avatar" style={style} aria-hidden="true">
      {initials || "?"}
    </span>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
