import { defineConfig } from "vite";

// The API serves the build (dist/) at `/`; `npm run dev` proxies the API for development.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 400 },
  server: { proxy: { "/api": process.env.EXECFLOW_API_URL ?? "http://127.0.0.1:8080" } },
});
