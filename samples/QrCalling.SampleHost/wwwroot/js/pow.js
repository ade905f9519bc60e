// The proof of work lives in the JavaScript client module (client/rest.js); this path stays for existing imports.
export { solveProof } from './client/rest.js';
