import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The daemon serves html/dist at "/" with a fallback to index.html for client routes.
// During development `npm run dev` proxies /janus to a server given by SB_DEV_SERVER
// (default: a Switchboard on localhost:8088), so the app can also be pointed at another
// Janus-compatible server while the Switchboard plugins are being written.
const devServer = process.env.SB_DEV_SERVER ?? 'http://127.0.0.1:8088';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/janus': { target: devServer, changeOrigin: true },
    },
  },
});
