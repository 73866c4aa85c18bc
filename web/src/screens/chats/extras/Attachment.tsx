import { useState } from "preact/hooks";
import type { FileInfo, Message } from "../../../api/types";
import { t } from "../../../i18n";
import { Button, Dialog, ErrorText, Spinner } from "../../../ui";
import { downloadFile, useObjectUrl } from "../../../ui/media";
import { formatSize } from "./logic";

const THUMB_MAX = 320;

function fileIcon(mime: string): string {
  if (mime.startsWith("image/")) return "🖼️";
  if (mime.startsWith("audio/")) return "🎵";
  if (mime.startsWith("video/")) return "🎬";
  if (mime === "application/pdf") return "📕";
  if (mime.includes("sheet") || mime.includes("excel") || mime === "text/csv") return "📊";
  if (mime.includes("word") || mime.startsWith("text/")) return "📄";
  if (mime.includes("zip") || mime.includes("compressed")) return "🗜️";
  return "📎";
}

/** The thumbnail's box, known before it loads, so the list does not jump. */
function thumbBox(file: FileInfo): { width: number; height: number } | undefined {
  if (!file.width || !file.height) return undefined;
  const scale = Math.min(1, THUMB_MAX / Math.max(file.width, file.height));
  return { width: Math.round(file.width * scale), height: Math.round(file.height * scale) };
}

/** Width plus aspect ratio (not a fixed height): on a narrow phone the box shrinks evenly. */
function boxStyle(box: { width: number; height: number } | undefined) {
  return box ? { width: `${box.width}px`, aspectRatio: `${box.width} / ${box.height}` } : undefined;
}

function FullImage({ file, onClose }: { file: FileInfo; onClose: () => void }) {
  const url = useObjectUrl(`/files/${file.id}`);
  return (
    <Dialog title={file.name} onClose={onClose}>
      <div class="chatx-full">{url ? <img src={url} alt={file.name} /> : <Spinner />}</div>
      <div class="row chatx-actions">
        <Button onClick={() => void downloadFile(file.id, file.name)}>{t("chatx.file.download")}</Button>
      </div>
    </Dialog>
  );
}

function ImageAttachment({ file }: { file: FileInfo }) {
  const [open, setOpen] = useState(false);
  const url = useObjectUrl(`/files/${file.id}/thumbnail`);
  const box = thumbBox(file);
  return (
    <>
      <button type="button" class="chatx-thumb" style={boxStyle(box)} aria-label={t("chatx.file.openImage", { name: file.name })} onClick={() => setOpen(true)}>
        {url ? <img src={url} alt={file.name} width={box?.width} height={box?.height} /> : <span class="chatx-thumb__wait" aria-hidden="true" />}
      </button>
      {open && <FullImage file={file} onClose={() => setOpen(false)} />}
    </>
  );
}

function FileCard({ file }: { file: FileInfo }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      await downloadFile(file.id, file.name);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="chatx-file">
      <span class="chatx-file__icon" aria-hidden="true">
        {fileIcon(file.mime_type)}
      </span>
      <span class="chatx-file__text">
        <span class="chatx-file__name">{file.name}</span>
        <span class="muted">{formatSize(file.size)}</span>
      </span>
      <Button variant="ghost" busy={busy} aria-label={t("chatx.file.downloadName", { name: file.name })} onClick={download}>
        ⬇
      </Button>
      <ErrorText error={error} />
    </div>
  );
}

/** The attachment of a message: image preview (thumbnail, click opens) or a file card. */
export function Attachment({ message }: { message: Message }) {
  const file = message.file;
  if (!file || message.is_deleted) return null;
  if (file.mime_type.startsWith("image/") && file.has_thumbnail) return <ImageAttachment file={file} />;
  return <FileCard file={file} />;
}
