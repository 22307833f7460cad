import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const page = (name: string) => new URL(name, import.meta.url).pathname;

// `pyconvex dev` writes VITE_CONVEX_URL to examples/chat/.env.local, one folder up.
export default defineConfig({
  plugins: [react()],
  envDir: "..",
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 4173 },
  build: {
    rollupOptions: {
      // The app with built-in sign-in, and the same app signed in by an outside
      // OpenID provider the way the guide wires Clerk (src/clerk-like/).
      input: { main: page("index.html"), clerkLike: page("clerk-like.html") },
    },
  },
});
