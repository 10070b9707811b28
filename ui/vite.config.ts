// Build: `vite build --config ui/vite.config.ts` (root ui/, output ui/dist, served by the API server at /).
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("./dist", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    // `vite --config ui/vite.config.ts` during UI work: API calls go to a local `airlock standalone`.
    proxy: { "/api": process.env.AIRLOCK_UI_API ?? "http://127.0.0.1:8080" },
  },
});
