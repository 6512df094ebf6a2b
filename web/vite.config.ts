/** Builds the console (web/) into dist/console, served by Signet at /console/ (src/http/routes/console.ts). */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/console/",
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    // Everything is a file of this origin: the CSP allows no inline code and no other origin.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
