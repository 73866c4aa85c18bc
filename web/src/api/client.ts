// The one way the client talks to the server: JSON over fetch, uploads over XHR
// (for progress), errors as ApiError carrying the server's stable code.
import type { components } from "./schema.gen";

export type Schemas = components["schemas"];

export const API = "/api/v1";

/** Code used when the request never reached the server (offline, DNS, reset). */
export const NETWORK_ERROR = "network_error";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly reason?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  /** True when retrying the same request later may succeed. */
  get isTransient(): boolean {
    return this.code === NETWORK_ERROR || this.status >= 500 || this.status === 429;
  }
}

const TOKEN_KEY = "parta.token";
let token: string | null = readToken();
const unauthorizedListeners = new Set<() => void>();

function readToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return token;
}

export function setToken(value: string | null): void {
  token = value;
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private mode without storage: the session lives until the tab closes.
  }
}

/** Called when the server says the session is gone (revoked, signed out elsewhere). */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

type ErrorDetail = Schemas["ErrorDetail"];

async function toError(response: Response): Promise<ApiError> {
  let detail: Partial<ErrorDetail> = {};
  try {
    const body = (await response.json()) as { error?: ErrorDetail };
    detail = body.error ?? {};
  } catch {
    // Not our JSON (a proxy's page): fall back to the status.
  }
  const header = response.headers.get("Retry-After");
  const retry = detail.retry_after ?? (header ? Number(header) : undefined);
  return new ApiError(
    response.status,
    detail.code ?? `http_${response.status}`,
    detail.message ?? response.statusText,
    detail.field ?? undefined,
    detail.reason ?? undefined,
    retry !== undefined && Number.isFinite(retry) ? retry : undefined,
  );
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function headers(json: boolean): Record<string, string> {
  const result: Record<string, string> = { Accept: "application/json" };
  if (json) result["Content-Type"] = "application/json";
  if (token) result.Authorization = `Bearer ${token}`;
  return result;
}

/** One JSON request. Throws ApiError (code `network_error` when offline). */
export async function api<T>(
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  body?: unknown,
  init?: { signal?: AbortSignal; query?: Query },
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(API + withQuery(path, init?.query), {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: init?.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, NETWORK_ERROR, "Нет связи с сервером.");
  }
  if (!response.ok) {
    const error = await toError(response);
    if (response.status === 401) unauthorizedListeners.forEach((listener) => listener());
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Text (e.g. a CSV report) with the session's authorization. */
export async function apiText(path: string, query?: Query): Promise<string> {
  const response = await fetch(API + withQuery(path, query), { headers: headers(false) }).catch(() => {
    throw new ApiError(0, NETWORK_ERROR, "Нет связи с сервером.");
  });
  if (!response.ok) throw await toError(response);
  return response.text();
}

/**
 * Multipart upload of one file with progress (0..1). fetch cannot report upload
 * progress, hence XHR. Abort through the signal.
 */
export function upload<T>(
  path: string,
  file: Blob,
  options: { method?: "POST" | "PUT"; field?: string; filename?: string; onProgress?: (share: number) => void; signal?: AbortSignal } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(options.method ?? "POST", API + path);
    xhr.setRequestHeader("Accept", "application/json");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) options.onProgress?.(event.loaded / event.total);
    };
    xhr.onerror = () => reject(new ApiError(0, NETWORK_ERROR, "Нет связи с сервером."));
    xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
    xhr.onload = () => {
      let body: { error?: ErrorDetail } | undefined;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body as T);
        return;
      }
      const detail = body?.error;
      reject(new ApiError(xhr.status, detail?.code ?? `http_${xhr.status}`, detail?.message ?? xhr.statusText, detail?.field ?? undefined, detail?.reason ?? undefined));
    };
    options.signal?.addEventListener("abort", () => xhr.abort());
    const form = new FormData();
    form.append(options.field ?? "file", file, options.filename ?? (file instanceof File ? file.name : "file"));
    xhr.send(form);
  });
}
