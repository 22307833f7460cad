/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The deployment URL; `pyconvex dev` writes it to examples/chat/.env.local. */
  readonly VITE_CONVEX_URL: string;
}
