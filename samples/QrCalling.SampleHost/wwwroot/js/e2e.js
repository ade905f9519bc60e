// E2E v1 lives in the JavaScript client module (client/e2e.js); this path stays for pages and tests that import it.
export * from './client/e2e.js';
