import { render } from "preact";
import { App } from "./app";
import { initI18n } from "./i18n";
import { start } from "./boot";
import "./styles/base.css";

void initI18n().then(() => {
  start();
  render(<App />, document.getElementById("app")!);
});
