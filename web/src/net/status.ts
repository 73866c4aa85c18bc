// Connection state shown by the shell ("Нет сети", "Подключение…"). net/ws.ts sets it.
import { useEffect, useState } from "preact/hooks";

export type ConnectionState = "online" | "connecting" | "offline";

let state: ConnectionState = typeof navigator !== "undefined" && navigator.onLine === false ? "offline" : "connecting";
const listeners = new Set<(value: ConnectionState) => void>();

export function connectionState(): ConnectionState {
  return state;
}

export function setConnectionState(value: ConnectionState): void {
  if (value === state) return;
  state = value;
  listeners.forEach((listener) => listener(value));
}

export function useConnectionState(): ConnectionState {
  const [value, setValue] = useState(state);
  useEffect(() => {
    listeners.add(setValue);
    setValue(state);
    return () => {
      listeners.delete(setValue);
    };
  }, []);
  return value;
}
