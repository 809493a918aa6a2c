// Built with `vite build web` (the root is this folder): web/dist, served by the registry itself
// (src/web/webInterface.ts). Everything is bundled: the page loads nothing from another origin.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // No inline polyfill script and no data: URLs: the Content-Security-Policy allows only 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 700,
  },
});
