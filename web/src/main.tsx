import { render } from "preact";
import { App } from "./app";
import { initI18n } from "./i18n";
import { start } from "./boot";
import "./styles/base.css";

void initI18n().then(() => {
  start();
  render(<App />, document.getElementById("app")!);
});

// The app shell from cache (public/sw.js): instant reloads on slow links, and offline.
if ("serviceWorker" in navigator && import.meta.env.PROD) {
  window.addEventListener("load", () => {
    void navigator.serviceWorker.register("/sw.js").catch(() => undefined);
  });
}
