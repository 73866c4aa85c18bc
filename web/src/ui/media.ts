// Files and thumbnails need the session's bearer token, which an <img src> cannot
// send; they are fetched here and shown through object URLs, kept in a small cache so
// a list that re-renders does not fetch again.
import { useEffect, useState } from "preact/hooks";
import { API, getToken } from "../api/client";

const MAX_CACHED = 200;
const cache = new Map<string, Promise<string>>();

export function fetchObjectUrl(path: string): Promise<string> {
  const hit = cache.get(path);
  if (hit) return hit;
  const token = getToken();
  const request = fetch(API + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} })
    .then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.blob();
    })
    .then((blob) => URL.createObjectURL(blob));
  request.catch(() => cache.delete(path));
  cache.set(path, request);
  if (cache.size > MAX_CACHED) {
    const oldest = cache.keys().next().value as string;
    void cache.get(oldest)?.then((url) => URL.revokeObjectURL(url));
    cache.delete(oldest);
  }
  return request;
}

/** An object URL for an API path (e.g. `/files/3/thumbnail`), or null while loading/failed. */
export function useObjectUrl(path: string | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!path) return;
    let alive = true;
    fetchObjectUrl(path)
      .then((value) => alive && setUrl(value))
      .catch(() => alive && setUrl(null));
    return () => {
      alive = false;
    };
  }, [path]);
  return url;
}

/** Save a file from the API under its name (downloads need the token too). */
export async function downloadFile(fileId: number, name: string): Promise<void> {
  const url = await fetchObjectUrl(`/files/${fileId}`);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
}
