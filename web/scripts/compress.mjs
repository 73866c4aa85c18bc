// After `vite build`: a .gz twin of every text asset, at the highest level, so the
// server sends compressed files without compressing on each request.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, constants } from "node:zlib";

const OUT = new URL("../../parta/static/", import.meta.url).pathname;
const TEXT = /\.(js|css|html|json|svg|txt|md|webmanifest)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (TEXT.test(name) && !name.endsWith(".gz")) {
      const data = readFileSync(path);
      writeFileSync(`${path}.gz`, gzipSync(data, { level: constants.Z_BEST_COMPRESSION }));
    }
  }
}

walk(OUT);
