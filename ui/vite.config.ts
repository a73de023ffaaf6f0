import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";
import { precompress } from "./precompress";

// `npm run dev` proxies the API to a running `durastack server` (DURASTACK_URL or the default port).
const api = process.env.DURASTACK_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  plugins: [react(), precompress()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  server: { proxy: { "/api": api } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
