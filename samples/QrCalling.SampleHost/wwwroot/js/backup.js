// Encrypted backup of what this browser keeps (the codes in its vault), end to end: the key comes from a passphrase
// the server never receives. PBKDF2-SHA256, 600,000 iterations, random 16-byte salt -> 256-bit AES-GCM key; the upload is
// "QRCB1" | salt (16) | iv (12) | AES-GCM ciphertext with its tag, the 5-byte header also as associated data.
import { $, describeError } from './api.js';
import { keepCode, keptCodeIds, readCode } from './code-vault.js';

export const PBKDF2_ITERATIONS = 600000;
const MAGIC = new TextEncoder().encode('QRCB1');
const enc = new TextEncoder();
const dec = new TextDecoder();
let token = () => null;

async function deriveKey(passphrase, salt) {
  const material = await crypto.subtle.importKey('raw', enc.encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: PBKDF2_ITERATIONS },
    material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

export async function encryptBackup(passphrase, data) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(passphrase, salt);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: MAGIC }, key, enc.encode(JSON.stringify(data))));
  const out = new Uint8Array(MAGIC.length + 16 + 12 + ciphertext.length);
  out.set(MAGIC, 0); out.set(salt, 5); out.set(iv, 21); out.set(ciphertext, 33);
  return out;
}

export async function decryptBackup(passphrase, bytes) {
  if (bytes.length < 33 + 16 || !MAGIC.every((b, i) => bytes[i] === b)) throw new Error('not-a-backup');
  const key = await deriveKey(passphrase, bytes.slice(5, 21));
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(21, 33), additionalData: MAGIC }, key, bytes.slice(33));
  return JSON.parse(dec.decode(plain));
}

function say(text, isError = false) {
  $('backup-status').textContent = isError ? '' : text;
  $('backup-error').textContent = isError ? text : '';
}

function passphrase() {
  const value = $('backup-passphrase').value;
  if (value.length < 8) {
    say('Choose a passphrase of at least 8 characters. Without it the backup cannot be opened, not even by us.', true);
    return null;
  }
  return value;
}

function backupError(e, what) {
  if (e?.code === 'backup_too_large') return `Could not ${what}: the backup is larger than the server accepts.`;
  if (e?.code === 'not_found') return 'There is no backup on the server yet.';
  return describeError(e, what);
}

async function send(path, init) {
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { ...init, headers: { ...(init.headers ?? {}), Authorization: `Bearer ${token()}` }, cache: 'no-store', credentials: 'omit' });
  } catch {
    throw Object.assign(new Error('network'), { code: 'network' });
  }
  if (!response.ok) {
    let problem = {};
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw Object.assign(new Error(problem.detail ?? 'error'), { code: problem.code, status: response.status });
  }
  return response;
}

async function backUp() {
  const secret = passphrase();
  if (!secret) return;
  $('backup-now').disabled = true;
  say('Encrypting on this device…');
  try {
    const codes = [];
    for (const codeId of await keptCodeIds()) {
      const kept = await readCode(codeId);
      if (kept) codes.push({ codeId, payload: kept.payload, link: kept.link });
    }
    const body = await encryptBackup(secret, { version: 1, createdAt: new Date().toISOString(), codes });
    say('Uploading the encrypted backup…');
    const stored = await (await send('/backups', { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body })).json();
    say(`Backup ${stored.version} saved (${codes.length} ${codes.length === 1 ? 'code' : 'codes'}, encrypted with your passphrase).`);
    $('backup-form').dataset.version = String(stored.version);
  } catch (e) {
    say(backupError(e, 'save the backup'), true);
  } finally {
    $('backup-now').disabled = false;
  }
}

async function restore() {
  const secret = passphrase();
  if (!secret) return;
  $('backup-restore').disabled = true;
  say('Downloading the latest backup…');
  try {
    const bytes = new Uint8Array(await (await send('/backups/latest', { method: 'GET' })).arrayBuffer());
    say('Decrypting on this device…');
    let data;
    try {
      data = await decryptBackup(secret, bytes);
    } catch {
      say('The passphrase does not open this backup. Check it and try again.', true);
      return;
    }
    for (const code of data.codes ?? []) await keepCode(code.codeId, code.payload, code.link);
    const n = data.codes?.length ?? 0;
    say(`Restored ${n} ${n === 1 ? 'code' : 'codes'} from the backup of ${new Date(data.createdAt).toLocaleString()}: their QR can be shown on this device again.`);
    $('backup-form').dataset.restored = String(n);
    window.dispatchEvent(new CustomEvent('qrcalling:codes-restored'));
  } catch (e) {
    say(backupError(e, 'restore the backup'), true);
  } finally {
    $('backup-restore').disabled = false;
  }
}

export function initBackup(options) {
  token = options.token;
  $('backup-form').addEventListener('submit', (event) => { event.preventDefault(); backUp(); });
  $('backup-restore').addEventListener('click', restore);
}
