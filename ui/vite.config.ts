import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

// Relative base: the bundle is served from tauri://localhost (and file-like origins in tests).
export default defineConfig({
  base: './',
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  // The bundle is read from the app's own disk, not a network: the main chunk (~550 kB, all UI
  // strings in two languages) loads in milliseconds; charts are split off and load on demand.
  build: { target: 'es2022', sourcemap: false, chunkSizeWarningLimit: 800 },
});
