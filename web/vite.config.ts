// Built with `vite build web` (the root is this folder): web/dist, served by the registry itself
// (src/web/webInterface.ts). Everything is bundled: the page loads nothing from another origin.
// `npm run web:dev` serves it with hot reload on :5173, passing the API through to a registry on
// :4000 started with CORS_ORIGINS=http://localhost:5173 (docs/web.md).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const REGISTRY = "http://127.0.0.1:4000";

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/graphql": { target: REGISTRY, ws: true },
      "/artifacts": REGISTRY,
      "/docs": REGISTRY,
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // No inline polyfill script and no data: URLs: the Content-Security-Policy allows only 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 700,
  },
});
