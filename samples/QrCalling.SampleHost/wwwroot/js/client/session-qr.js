// Signed session QR (docs/protocol.md "Signed session QR (additive)"): parse a `PQS:1:` payload or its link, and verify
// it offline with the host's public keys (GET /api/v1/verify-qr/keys) and WebCrypto: ECDSA P-256 over SHA-256, the
// signature in IEEE P1363 (r || s), WebCrypto's own format. The same rules as QrCalling.Core's SessionQrPayload and
// SessionQrVerifier, checked against the shared vectors in tests/vectors/session-qr-v1.json. No DOM.
//
//   const result = await verifySessionQr(location.hash);            // keys fetched from the page's origin, cached
//   if (result.valid) console.log(`valid until ${result.qr.expiresAt}`);
//   else console.log(result.status);                                 // malformed | unknown-key | bad-signature | expired

/** The prefix and version of a signed session QR (parsing ignores case). */
export const SESSION_QR_PREFIX = 'PQS:1:';

/** The outcomes of `verifySessionQr`, as the .NET `SessionQrStatus`. */
export const SessionQrStatus = Object.freeze({
  valid: 'valid', malformed: 'malformed', unknownKey: 'unknown-key', badSignature: 'bad-signature', expired: 'expired',
});

const MAX_TEXT_LENGTH = 2048;
const MAX_KIND_LENGTH = 16;
const MAX_SUBJECT_LENGTH = 128;
const KEY_ID_CHARS = 8;
const SIGNATURE_BYTES = 64;
const MAX_EXPIRY_DIGITS = 12;
const MAX_EXPIRY_SECONDS = 253402300799; // 9999-12-31T23:59:59Z, .NET's DateTimeOffset.MaxValue
const KEYS_MAX_AGE_MS = 3600 * 1000;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
// .NET's char.IsWhiteSpace, which String.Trim uses (JavaScript's trim differs for U+0085 and U+FEFF).
const WHITE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

const trim = (text) => text.replace(WHITE_SPACE, '');

/** RFC 4648 base32 (either case) of exactly `length` bytes, canonical (unused bits zero); null otherwise. */
function base32Decode(text, length) {
  if (text.length !== Math.floor((length * 8 + 4) / 5)) return null;
  const out = new Uint8Array(length);
  let buffer = 0, bits = 0, o = 0;
  for (const c of text.toUpperCase()) {
    const value = ALPHABET.indexOf(c);
    if (value < 0 || c.length !== 1) return null;
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return (buffer & ((1 << bits) - 1)) === 0 ? out : null;
}

function base32Encode(bytes) {
  let out = '', buffer = 0, bits = 0;
  for (const b of bytes) {
    buffer = ((buffer << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

function unb64url(text) {
  const b64 = String(text).replaceAll('-', '+').replaceAll('_', '/');
  return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

/** The payload part of a scanned text: after the last `#` of a link, white space trimmed (as .NET's parser). */
function fragmentOf(text) {
  let value = trim(String(text ?? ''));
  const hash = value.lastIndexOf('#');
  if (hash >= 0) value = trim(value.slice(hash + 1));
  return value;
}

/** True when the text (a payload or a link) looks like a signed session QR (`PQS:1:`, any case): whether it is a good
 * one is for `parseSessionQr` and `verifySessionQr` to say. */
export function isSessionQr(text) {
  return typeof text === 'string' && text.length <= MAX_TEXT_LENGTH && fragmentOf(text).toUpperCase().startsWith(SESSION_QR_PREFIX);
}

/**
 * Parses a payload or its link form, ignoring case and surrounding white space; checks the shape only, not the
 * signature. Returns `{qr, signature}` (`qr`: `{kind, keyId, expiresAt, expirySeconds, subject, payload}`, upper case,
 * `payload` canonical; `signature`: the 64 bytes) or `{error}` (why it is malformed, never echoing the text).
 */
export function parseSessionQr(text) {
  if (typeof text !== 'string' || text.length > MAX_TEXT_LENGTH) return { error: 'Not a signed session QR (empty or too long).' };
  const fragment = fragmentOf(text);
  if (/[^\x00-\x7f]/.test(fragment)) return { error: 'Not a signed session QR: it holds characters outside ASCII.' };
  const canonical = fragment.toUpperCase();
  if (!canonical.startsWith(SESSION_QR_PREFIX)) return { error: `Not a signed session QR: it does not start with ${SESSION_QR_PREFIX}.` };
  const parts = canonical.split(':');
  if (parts.length !== 7) return { error: "A signed session QR has 7 parts separated by ':' (PQS:1:kind:keyId:expiry:subject:signature)." };
  const [, , kind, keyId, expiry, subject, sig] = parts;
  if (!new RegExp(`^[A-Z]{1,${MAX_KIND_LENGTH}}$`).test(kind)) return { error: `The kind must be 1 to ${MAX_KIND_LENGTH} letters A-Z.` };
  if (keyId.length !== KEY_ID_CHARS || !base32Decode(keyId, 5)) return { error: `The key id must be ${KEY_ID_CHARS} base32 characters.` };
  if (!/^(0|[1-9][0-9]*)$/.test(expiry) || expiry.length > MAX_EXPIRY_DIGITS || Number(expiry) > MAX_EXPIRY_SECONDS) {
    return { error: 'The expiry must be Unix seconds in decimal without leading zeros.' };
  }
  if (!new RegExp(`^[A-Z0-9-]{1,${MAX_SUBJECT_LENGTH}}$`).test(subject)) {
    return { error: `The subject must be 1 to ${MAX_SUBJECT_LENGTH} characters A-Z, 0-9 or '-'.` };
  }
  const signature = base32Decode(sig, SIGNATURE_BYTES);
  if (!signature) return { error: `The signature must be 103 canonical base32 characters (${SIGNATURE_BYTES} bytes).` };
  const expirySeconds = Number(expiry);
  return { qr: { kind, keyId, expiresAt: new Date(expirySeconds * 1000), expirySeconds, subject, payload: canonical }, signature };
}

/** For a `ROOM` QR, the plain room payload it stands for (`PQR:1:<roomId>:<secret>`: its subject is
 * `<roomId>-<secret>`); null for another kind. Check the QR first. */
export function sessionQrRoomPayload(qr) {
  const match = qr?.kind === 'ROOM' ? /^([A-Z2-7]{26})-([A-Z2-7]{52})$/.exec(qr.subject) : null;
  return match ? `PQR:1:${match[1]}:${match[2]}` : null;
}

/** A key id: base32 of the first 5 bytes of SHA-256 over the DER SubjectPublicKeyInfo. */
export async function sessionQrKeyId(spki) {
  return base32Encode(new Uint8Array(await crypto.subtle.digest('SHA-256', spki)).slice(0, 5));
}

/** Imports the keys of `GET /verify-qr/keys` (`[{kid, alg, spki}]`, spki in base64url) as `[{kid, key}]`; keys that are
 * not ES256, do not import, or whose kid is not their own are left out. */
export async function importSessionQrKeys(list) {
  const keys = [];
  for (const entry of Array.isArray(list) ? list : []) {
    if (entry?.alg !== 'ES256' || typeof entry.spki !== 'string' || typeof entry.kid !== 'string') continue;
    try {
      const spki = unb64url(entry.spki);
      if (await sessionQrKeyId(spki) !== entry.kid.toUpperCase()) continue;
      const key = await crypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      keys.push({ kid: entry.kid.toUpperCase(), key });
    } catch {
      // Not a P-256 public key: ignored.
    }
  }
  return keys;
}

/**
 * Verifies a payload or link against imported keys (`importSessionQrKeys`) at `now` (a Date or milliseconds; default
 * the current time). Resolves `{status, valid, qr, error?}`: `valid`, `malformed` (with `error`), `unknown-key` (another
 * host's QR, or a key since removed), `bad-signature` (changed or forged), `expired` (checked after the signature).
 * `qr` is set unless malformed; trust it only when valid. Never throws for any text.
 */
export async function verifySessionQrWith(text, keys, now = Date.now()) {
  const parsed = parseSessionQr(text);
  if (parsed.error) return { status: SessionQrStatus.malformed, valid: false, qr: null, error: parsed.error };
  const { qr, signature } = parsed;
  const key = (keys ?? []).find((k) => k.kid === qr.keyId);
  if (!key) return { status: SessionQrStatus.unknownKey, valid: false, qr };
  const signed = new TextEncoder().encode(qr.payload.slice(0, qr.payload.lastIndexOf(':') + 1));
  let good = false;
  try {
    good = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key.key, signature, signed);
  } catch {
    good = false;
  }
  if (!good) return { status: SessionQrStatus.badSignature, valid: false, qr };
  const nowMs = now instanceof Date ? now.getTime() : Number(now);
  return nowMs < qr.expirySeconds * 1000
    ? { status: SessionQrStatus.valid, valid: true, qr }
    : { status: SessionQrStatus.expired, valid: false, qr };
}

/** A host's verification keys, fetched from `GET {baseUrl}/api/v1/verify-qr/keys` and kept for `maxAgeMs` (an hour, as
 * the host's Cache-Control allows). `fetch` may be replaced (tests, other runtimes). */
export class SessionQrKeys {
  constructor({ baseUrl = '', prefix = '/api/v1', fetch: fetchImpl, maxAgeMs = KEYS_MAX_AGE_MS, clock = () => Date.now() } = {}) {
    this.url = `${baseUrl.replace(/\/+$/, '')}${prefix}/verify-qr/keys`;
    this.fetchImpl = fetchImpl ?? ((...args) => globalThis.fetch(...args));
    this.maxAgeMs = maxAgeMs;
    this.clock = clock;
    this.keys = null;
    this.fetchedAt = 0;
    this.pending = null;
  }

  /** The imported keys: from the cache while fresh, else fetched. `fresh: true` fetches again whatever the cache holds
   * (past the browser's HTTP cache too). Throws an `Error` with `code: 'network'` when the host cannot be reached. */
  async get({ fresh = false } = {}) {
    if (!fresh && this.keys && this.clock() - this.fetchedAt < this.maxAgeMs) return this.keys;
    if (!this.pending) {
      this.pending = this.load(fresh).finally(() => { this.pending = null; });
    }
    return this.pending;
  }

  async load(fresh) {
    let response;
    try {
      response = await this.fetchImpl(this.url, { cache: fresh ? 'no-cache' : 'default', credentials: 'omit', referrerPolicy: 'no-referrer' });
    } catch {
      throw Object.assign(new Error('No connection to the server.'), { code: 'network', status: 0 });
    }
    if (!response.ok) {
      throw Object.assign(new Error(`The keys could not be fetched (HTTP ${response.status}).`), { code: 'keys_unavailable', status: response.status });
    }
    const body = await response.json();
    this.keys = await importSessionQrKeys(body?.keys);
    this.fetchedAt = this.clock();
    return this.keys;
  }
}

const defaultKeys = new Map();

/**
 * Verifies a signed session QR offline with the host's keys: `keys` (a `SessionQrKeys`; default one per `baseUrl`,
 * the page's origin for ''), fetched at most once an hour, and once more when the QR names a key id the cached list
 * lacks (a rotation). Resolves as `verifySessionQrWith`; throws (`code: 'network'`) only when the keys cannot be had.
 */
export async function verifySessionQr(text, { keys, baseUrl = '', now } = {}) {
  const parsed = parseSessionQr(text);
  if (parsed.error) return { status: SessionQrStatus.malformed, valid: false, qr: null, error: parsed.error };
  let source = keys;
  if (!source) {
    source = defaultKeys.get(baseUrl) ?? new SessionQrKeys({ baseUrl });
    defaultKeys.set(baseUrl, source);
  }
  const fetchedBefore = source.fetchedAt;
  let list = await source.get();
  // An unknown key id: fetch once more, unless the list was just fetched for this very check.
  if (!list.some((k) => k.kid === parsed.qr.keyId) && source.fetchedAt === fetchedBefore) list = await source.get({ fresh: true });
  return verifySessionQrWith(text, list, now ?? Date.now());
}
