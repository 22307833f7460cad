import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `pyconvex dev` writes VITE_CONVEX_URL to examples/chat/.env.local, one folder up.
export default defineConfig({
  plugins: [react()],
  envDir: "..",
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 4173 },
});
