// The signed-in person. Screens read `me` through useMe(); sign-in and sign-out
// go through here so every listener (connection, caches) follows.
import { useEffect, useState } from "preact/hooks";
import { api, getToken, onUnauthorized, setToken } from "../api/client";
import type { Me } from "../api/types";

const ME_KEY = "parta.me";
// The profile of the last session, so the shell opens at once (and offline).
let me: Me | null = readCachedMe();

function readCachedMe(): Me | null {
  try {
    if (!getToken()) return null;
    const text = localStorage.getItem(ME_KEY);
    return text ? (JSON.parse(text) as Me) : null;
  } catch {
    return null;
  }
}

function cacheMe(value: Me | null): void {
  try {
    if (value) localStorage.setItem(ME_KEY, JSON.stringify(value));
    else localStorage.removeItem(ME_KEY);
  } catch {
    // no storage: nothing cached
  }
}
const listeners = new Set<(value: Me | null) => void>();

function emit(): void {
  listeners.forEach((listener) => listener(me));
}

export function currentMe(): Me | null {
  return me;
}

export function setMe(value: Me | null): void {
  me = value;
  cacheMe(value);
  emit();
}

export function useMe(): Me | null {
  const [value, setValue] = useState(me);
  useEffect(() => {
    listeners.add(setValue);
    setValue(me);
    return () => {
      listeners.delete(setValue);
    };
  }, []);
  return value;
}

export function isSignedIn(): boolean {
  return getToken() !== null;
}

/** After POST /auth/token: keep the token and load the profile. */
export async function signedIn(token: string): Promise<Me> {
  setToken(token);
  const value = await api<Me>("GET", "/me");
  setMe(value);
  return value;
}

export async function refreshMe(): Promise<Me> {
  const value = await api<Me>("GET", "/me");
  setMe(value);
  return value;
}

const signOutHooks = new Set<() => Promise<void> | void>();

/** Things to forget at sign-out (the offline cache, the pending queue). */
export function onSignOut(hook: () => Promise<void> | void): void {
  signOutHooks.add(hook);
}

/** Sign this device out: the server forgets the session, the device forgets its data. */
export async function signOut(options: { callServer: boolean } = { callServer: true }): Promise<void> {
  if (options.callServer) {
    // The session list marks this device's session; deleting it revokes the token.
    await api<{ sessions: { id: number; is_current: boolean }[] }>("GET", "/sessions")
      .then((list) => list.sessions.find((session) => session.is_current))
      .then((current) => (current ? api("DELETE", `/sessions/${current.id}`) : undefined))
      .catch(() => undefined);
  }
  setToken(null);
  for (const hook of signOutHooks) await hook();
  setMe(null);
}

onUnauthorized(() => {
  if (me !== null || getToken() !== null) void signOut({ callServer: false });
});
