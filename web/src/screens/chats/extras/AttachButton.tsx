import { useEffect, useRef, useState } from "preact/hooks";
import { upload } from "../../../api/client";
import type { FileInfo } from "../../../api/types";
import { t } from "../../../i18n";
import { errorText } from "../../../ui";
import { fileSizeError } from "./logic";
import type { PickedFile } from "./index";

type Upload = { name: string; share: number; controller: AbortController };

/** Files pasted or dropped onto the page (the chat screen is the page while it is open). */
function usePastedFiles(enabled: boolean, onFile: (file: File) => void): void {
  const handler = useRef(onFile);
  handler.current = onFile;
  useEffect(() => {
    if (!enabled) return;
    const onPaste = (event: ClipboardEvent) => {
      const file = event.clipboardData?.files?.[0];
      if (file) {
        event.preventDefault();
        handler.current(file);
      }
    };
    const onDragOver = (event: DragEvent) => {
      if (event.dataTransfer?.types.includes("Files")) event.preventDefault();
    };
    const onDrop = (event: DragEvent) => {
      const file = event.dataTransfer?.files?.[0];
      if (file) {
        event.preventDefault();
        handler.current(file);
      }
    };
    document.addEventListener("paste", onPaste);
    document.addEventListener("dragover", onDragOver);
    document.addEventListener("drop", onDrop);
    return () => {
      document.removeEventListener("paste", onPaste);
      document.removeEventListener("dragover", onDragOver);
      document.removeEventListener("drop", onDrop);
    };
  }, [enabled]);
}

/**
 * The paperclip: picks a file, uploads it to the chat with a progress bar, and
 * hands the stored file to the composer (which sends it with the message).
 */
export function AttachButton({ chatId, onUploaded, disabled }: { chatId: number; onUploaded: (file: PickedFile) => void; disabled?: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  const [current, setCurrent] = useState<Upload | null>(null);
  const [error, setError] = useState<string | null>(null);
  const running = useRef<AbortController | null>(null);
  running.current = current?.controller ?? null;
  // Leaving the chat cancels an upload nobody would send.
  useEffect(() => () => running.current?.abort(), []);

  const start = async (file: File) => {
    if (current) return;
    const tooBig = fileSizeError(file.size);
    setError(tooBig);
    if (tooBig) return;
    const controller = new AbortController();
    setCurrent({ name: file.name, share: 0, controller });
    try {
      const stored = await upload<FileInfo>(`/chats/${chatId}/files`, file, {
        signal: controller.signal,
        onProgress: (share) => setCurrent((value) => (value && value.controller === controller ? { ...value, share } : value)),
      });
      onUploaded({ fileId: stored.id, name: stored.name, mimeType: stored.mime_type });
    } catch (err) {
      // A cancel is the person's choice, not an error to show.
      if (!(err instanceof DOMException && err.name === "AbortError")) setError(errorText(err));
    } finally {
      setCurrent((value) => (value?.controller === controller ? null : value));
    }
  };
  usePastedFiles(!disabled, (file) => void start(file));

  return (
    <div class="chatx-attach">
      <input
        ref={input}
        type="file"
        class="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        data-testid="attach-input"
        onChange={(event) => {
          const file = event.currentTarget.files?.[0];
          event.currentTarget.value = "";
          if (file) void start(file);
        }}
      />
      <button
        type="button"
        class="icon-btn"
        aria-label={t("chatx.attach.button")}
        title={t("chatx.attach.button")}
        disabled={disabled || current !== null}
        onClick={() => input.current?.click()}
      >
        📎
      </button>
      {current && (
        <div class="chatx-upload" role="status">
          <span class="chatx-upload__name">{t("chatx.attach.uploading", { name: current.name })}</span>
          <progress max={1} value={current.share} aria-label={t("chatx.attach.progress")} />
          <button type="button" class="icon-btn" aria-label={t("chatx.attach.cancel")} onClick={() => current.controller.abort()}>
            ×
          </button>
        </div>
      )}
      {error && (
        <p class="error chatx-upload__error" role="alert">
          {error}
          <button type="button" class="icon-btn" aria-label={t("common.close")} onClick={() => setError(null)}>
            ×
          </button>
        </p>
      )}
    </div>
  );
}
