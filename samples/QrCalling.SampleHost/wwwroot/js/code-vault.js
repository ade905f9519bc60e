// The owner's own device keeps the payloads of the codes it created, so it can show and print their QR again. The
// server never can: it stores only a keyed hash of each token.
//
// At rest everything is encrypted: one AES-GCM key per browser profile, made by WebCrypto as NOT extractable and kept
// in IndexedDB as a CryptoKey object (script can use it but never read its bytes); each code's {payload, link} is sealed
// with a fresh 96-bit IV and the code id as additional data (a record cannot be moved to another code), and only the
// ciphertext is stored (IndexedDB, store "codes"). Signing out keeps the vault: a code's id is random and known to its
// owner only, so another account on this browser never lists it.

const DB_NAME = 'qrcalling-vault';
const DB_VERSION = 1;
const KEY_ID = 'device-key';
const enc = new TextEncoder();
const dec = new TextDecoder();

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let dbPromise = null;

function openDb() {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('keys')) db.createObjectStore('keys');
      if (!db.objectStoreNames.contains('codes')) db.createObjectStore('codes');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('The vault is open in an older version of this page.'));
  }).catch((e) => { dbPromise = null; throw e; });
  return dbPromise;
}

async function tx(store, mode, body) {
  const db = await openDb();
  const t = db.transaction(store, mode);
  const done = new Promise((resolve, reject) => { t.oncomplete = resolve; t.onerror = () => reject(t.error); t.onabort = () => reject(t.error); });
  const result = await body(t.objectStore(store));
  await done;
  return result;
}

let keyPromise = null;

/** The device's vault key: read from IndexedDB, or made (non-extractable) and stored once. */
function deviceKey() {
  keyPromise ??= (async () => {
    const existing = await tx('keys', 'readonly', (s) => request(s.get(KEY_ID)));
    if (existing) return existing;
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    // Two tabs may race to make the key: `add` keeps the first, and everyone uses the stored one.
    try { await tx('keys', 'readwrite', (s) => request(s.add(key, KEY_ID))); } catch { /* another tab stored one */ }
    return tx('keys', 'readonly', (s) => request(s.get(KEY_ID)));
  })().catch((e) => { keyPromise = null; throw e; });
  return keyPromise;
}

/** True when this browser can keep codes (IndexedDB and WebCrypto in a secure context). */
export function vaultSupported() {
  return typeof indexedDB !== 'undefined' && !!globalThis.crypto?.subtle && globalThis.isSecureContext !== false;
}

/** Keeps a new code's payload and link, encrypted. Never throws: a code that cannot be kept is only shown once. */
export async function keepCode(codeId, payload, link) {
  if (!vaultSupported()) return false;
  try {
    const key = await deviceKey();
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const plain = enc.encode(JSON.stringify({ payload, link }));
    const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: enc.encode(codeId) }, key, plain);
    await tx('codes', 'readwrite', (s) => request(s.put({ v: 1, iv, ciphertext }, codeId)));
    return true;
  } catch (e) {
    console.warn('could not keep the code on this device', e?.name);
    return false;
  }
}

/** The kept {payload, link} of a code, or null when this device did not create it (or cannot read it any more). */
export async function readCode(codeId) {
  if (!vaultSupported()) return null;
  try {
    const record = await tx('codes', 'readonly', (s) => request(s.get(codeId)));
    if (!record) return null;
    const key = await deviceKey();
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: record.iv, additionalData: enc.encode(codeId) }, key, record.ciphertext);
    return JSON.parse(dec.decode(plain));
  } catch (e) {
    console.warn('could not read a kept code', e?.name);
    return null;
  }
}

/** The ids of the codes kept on this device. */
export async function keptCodeIds() {
  if (!vaultSupported()) return new Set();
  try {
    return new Set(await tx('codes', 'readonly', (s) => request(s.getAllKeys())));
  } catch {
    return new Set();
  }
}

/** Forgets a code (after it was deleted, or withdrawn/replaced: its QR then calls nobody). */
export async function forgetCode(codeId) {
  if (!vaultSupported()) return;
  try { await tx('codes', 'readwrite', (s) => request(s.delete(codeId))); } catch { /* nothing kept */ }
}
