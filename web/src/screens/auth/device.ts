// A readable device name for the sessions list ("Chrome, Android"), from the user
// agent: enough for a person to recognise their own phone, nothing more.

const SYSTEMS: [RegExp, string][] = [
  [/iPhone/, "iPhone"],
  [/iPad/, "iPad"],
  [/Android/, "Android"],
  [/Windows/, "Windows"],
  [/Mac OS X|Macintosh/, "macOS"],
  [/CrOS/, "ChromeOS"],
  [/Linux/, "Linux"],
];

// Order matters: most browsers also claim to be Chrome and Safari.
const BROWSERS: [RegExp, string][] = [
  [/YaBrowser/, "Яндекс Браузер"],
  [/Edg\//, "Edge"],
  [/OPR\/|Opera/, "Opera"],
  [/Firefox\//, "Firefox"],
  [/Chrome\/|Chromium\/|CriOS/, "Chrome"],
  [/Safari\//, "Safari"],
];

function first(list: [RegExp, string][], agent: string): string | undefined {
  return list.find(([pattern]) => pattern.test(agent))?.[1];
}

export function deviceName(agent: string): string {
  const parts = [first(BROWSERS, agent), first(SYSTEMS, agent)].filter(Boolean);
  return parts.length ? parts.join(", ") : "Браузер";
}
