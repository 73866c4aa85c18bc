/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The client is served by the Parta server at "/"; during `npm run dev` the API is
// proxied to a server started with `make run`.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../parta/static",
    emptyOutDir: true,
    // .vite/manifest.json: bench/web_budget.py reads which files the first screen loads.
    manifest: true,
    target: "es2021",
    // Budget: the first screen must stay under 100 KB of gzipped JS+CSS (measured by
    // bench/web_budget.py); everything behind a route is a lazy chunk.
    chunkSizeWarningLimit: 150,
    assetsInlineLimit: 0,
  },
  server: {
    // The help screens import the Russian guides from ../docs.
    fs: { allow: [".", "../docs"] },
    proxy: { "/api": { target: "http://127.0.0.1:8000", ws: true } },
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
  },
});
