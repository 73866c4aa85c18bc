// "Choose an image" button that uploads it at once with a progress bar: avatars, logos.
import { useState } from "preact/hooks";
import { upload } from "../api/client";
import { ErrorText } from "./index";

export function ImagePicker<T>({
  path,
  label,
  progressLabel,
  buttonClass,
  onUploaded,
}: {
  /** The API path taking the image with PUT (multipart field `file`). */
  path: string;
  label: string;
  progressLabel: string;
  buttonClass?: string;
  onUploaded: (answer: T) => void | Promise<void>;
}) {
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function choose(input: HTMLInputElement) {
    const file = input.files?.[0];
    input.value = ""; // the same file may be chosen again after an error
    if (!file) return;
    setError(null);
    setProgress(0);
    try {
      await onUploaded(await upload<T>(path, file, { method: "PUT", onProgress: setProgress }));
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  }

  return (
    <div class="stack">
      <label class={`btn btn--secondary ${buttonClass ?? ""}`}>
        {label}
        <input type="file" accept="image/*" class="visually-hidden" onChange={(e) => void choose(e.currentTarget)} />
      </label>
      {progress !== null && <progress max={1} value={progress} aria-label={progressLabel} />}
      <ErrorText error={error} />
    </div>
  );
}
