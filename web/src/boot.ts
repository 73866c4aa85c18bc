// Start-up work that must not wait for the first paint: the profile, the connection.
// The connection and the offline cache register themselves with onStart.
import { getToken } from "./api/client";
import { refreshMe } from "./store/session";

type StartHook = () => void;
const hooks: StartHook[] = [];

/** Run `hook` at start-up (when signed in) and after every sign-in. */
export function onStart(hook: StartHook): void {
  hooks.push(hook);
}

export function start(): void {
  if (!getToken()) return;
  void refreshMe().catch(() => undefined);
  hooks.forEach((hook) => hook());
}

/** Call after a successful sign-in (the token is set). */
export function started(): void {
  hooks.forEach((hook) => hook());
}
