// Vite builds the two pages (checkout.html, dashboard.html) into web/dist; the API process serves
// them (src/modules/web-app). Vite's own JSX transform is enough: no React plugin, no Babel.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/app/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline script or style anywhere: the pages run under a CSP without 'unsafe-inline'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: { checkout: 'checkout.html', dashboard: 'dashboard.html' },
      // react-query marks its files "use client" (for React Server Components); meaningless here.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: {
    proxy: {
      '/checkout/sessions': 'http://127.0.0.1:8080',
      '/oauth': 'http://127.0.0.1:8080',
      '/tokens': 'http://127.0.0.1:8080',
      '/payments': 'http://127.0.0.1:8080',
      '/dashboard/api': 'http://127.0.0.1:8080',
    },
  },
});
