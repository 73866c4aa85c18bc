// Little pieces shared by the extras: a confirmation dialog, on-demand loading of the
// bigger dialogs (so they stay out of the chat list's first bundle), message previews.
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Message } from "../../../api/types";
import { t } from "../../../i18n";
import { Button, Dialog, ErrorText, Spinner } from "../../../ui";

export function ConfirmDialog({
  title,
  text,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  title: string;
  text: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title={title} onClose={onClose}>
      <p>{text}</p>
      <ErrorText error={error} />
      <div class="row chatx-actions">
        <Button onClick={onClose}>{t("common.cancel")}</Button>
        <Button variant="danger" busy={busy} onClick={confirm}>
          {confirmLabel}
        </Button>
      </div>
    </Dialog>
  );
}

/** A component loaded when first rendered (a lazy chunk), with a spinner meanwhile. */
export function deferred<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  return function Deferred(props: P) {
    const [component, setComponent] = useState<ComponentType<P> | null>(() => loaded);
    const [failed, setFailed] = useState<unknown>(null);
    useEffect(() => {
      if (component) return;
      let alive = true;
      load()
        .then((value) => {
          loaded = value;
          if (alive) setComponent(() => value);
        })
        .catch((err: unknown) => alive && setFailed(err));
      return () => {
        alive = false;
      };
    }, []);
    if (failed) return <ErrorText error={failed} />;
    if (!component) return <Spinner />;
    const Component = component;
    return <Component {...props} />;
  };
}

/** One line about a message: its text, or what it carries. */
export function messagePreview(message: Message): string {
  if (message.is_deleted) return t("chatx.msg.deleted");
  if (message.text) return message.text;
  if (message.file) return message.file.mime_type.startsWith("image/") ? t("chatx.msg.photo") : message.file.name;
  return t("chatx.msg.empty");
}
