// "Are you sure?" for destructive actions, showing the server's refusal in place.
import { useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { t } from "../../i18n";
import { Button, Dialog, ErrorText } from "../../ui";

export function ConfirmDialog({
  title,
  confirm,
  onConfirm,
  onClose,
  children,
}: {
  title: string;
  confirm: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  children?: ComponentChildren;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function run() {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title={title} onClose={onClose}>
      <div class="stack">
        {children}
        <ErrorText error={error} />
        <div class="row">
          <Button variant="danger" busy={busy} onClick={() => void run()}>
            {confirm}
          </Button>
          <Button variant="ghost" onClick={onClose}>
            {t("common.cancel")}
          </Button>
        </div>
      </div>
    </Dialog>
  );
}
