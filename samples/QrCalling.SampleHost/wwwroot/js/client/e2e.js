// QrCalling E2E v1 (docs/e2e.md) with WebCrypto: the commit-then-reveal ECDH P-256 key exchange carried in
// `key-exchange` signals, a key and a strictly increasing counter per direction (AES-GCM, the header as associated
// data), and a 6-digit check code over both public keys and both DTLS fingerprints of the call. The .NET twin is
// src/QrCalling.Client/E2E; both are checked against tests/vectors/e2e-v1.json.
//
// Roles: the caller is the initiator (it commits first), the owner the responder.

const enc = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const VERSION = 1;
const SID_LENGTH = 16;
const NONCE_LENGTH = 32;
const HEADER_LENGTH = 10;
const TAG_LENGTH = 16;
const I2R = 1;
const R2I = 2;

/** A refused key-exchange or chat message; `reason` is the same stable code as the .NET E2EProtocolException's. */
export class E2EError extends Error {
  constructor(reason, message) {
    super(`${reason}: ${message}`);
    this.reason = reason;
  }
}

// ---- encodings ----
export const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
export function unb64url(text, length, what) {
  try {
    if (typeof text === 'string' && /^[A-Za-z0-9_-]*$/.test(text)) {
      const bytes = Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      if (length === undefined || bytes.length === length) return bytes;
    }
  } catch { /* below */ }
  throw new E2EError('malformed', `The ${what ?? 'value'} is not ${length ?? 'some'} bytes of base64url.`);
}
const b64 = (bytes) => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const utf8 = (text) => enc.encode(text);

/** Each part as a 4-byte big-endian length and its bytes. */
function lengthPrefixed(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// ---- fingerprints ----
/** `SHA-256 ab:cd` → `sha-256 AB:CD`; '' for none. */
export function normalizeFingerprint(fingerprint) {
  if (typeof fingerprint !== 'string' || !fingerprint.trim()) return '';
  const [algorithm, value] = fingerprint.trim().split(/ +(.*)/s);
  return value !== undefined ? `${algorithm.toLowerCase()} ${value.trim().toUpperCase()}` : fingerprint.trim().toUpperCase();
}

/** The value of an SDP's `a=fingerprint` lines when they all agree, otherwise (none, or several different) null. */
export function fingerprintFromSdp(sdp) {
  if (typeof sdp !== 'string') return null;
  const found = new Set([...sdp.matchAll(/^a=fingerprint:(.+?)\s*$/gm)].map((m) => normalizeFingerprint(m[1])));
  return found.size === 1 ? [...found][0] : null;
}

/** The fingerprint an RTCPeerConnection made with this certificate puts in its SDP. */
export function certificateFingerprint(certificate) {
  const fp = certificate.getFingerprints().find((f) => f.algorithm.toLowerCase() === 'sha-256') ?? certificate.getFingerprints()[0];
  return normalizeFingerprint(`${fp.algorithm} ${fp.value}`);
}

// ---- the derivations (docs/e2e.md), exported for the test vectors ----
export async function commitment(contextId, sid, initiatorPublic, initiatorFingerprint, nonce) {
  return sha256(lengthPrefixed(utf8('QrCalling E2E v1 commit'), utf8(contextId), sid, initiatorPublic, utf8(initiatorFingerprint), nonce));
}

export async function transcriptHash(contextId, sid, initiatorPublic, responderPublic, initiatorFingerprint, responderFingerprint, nonce) {
  return sha256(lengthPrefixed(utf8('QrCalling E2E v1'), utf8(contextId), sid, initiatorPublic, responderPublic,
    utf8(initiatorFingerprint), utf8(responderFingerprint), nonce));
}

/** Both directions' raw keys and the check code, from the ECDH secret and the transcript hash. */
export async function derive(sharedSecret, transcript) {
  const ikm = await crypto.subtle.importKey('raw', sharedSecret, 'HKDF', false, ['deriveBits']);
  const expand = async (info, bytes) => new Uint8Array(await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: transcript, info: utf8(info) }, ikm, bytes * 8));
  const i2r = await expand('qrcalling e2e v1 initiator to responder', 32);
  const r2i = await expand('qrcalling e2e v1 responder to initiator', 32);
  const sas = new DataView((await expand('qrcalling e2e v1 check code', 8)).buffer).getBigUint64(0) % 1000000n;
  const digits = sas.toString().padStart(6, '0');
  return { i2r, r2i, checkCode: `${digits.slice(0, 3)} ${digits.slice(3)}` };
}

function header(direction, counter) {
  const h = new Uint8Array(HEADER_LENGTH);
  h[0] = VERSION;
  h[1] = direction;
  new DataView(h.buffer).setBigUint64(2, BigInt(counter));
  return h;
}

function gcmNonce(direction, counter) {
  const n = new Uint8Array(12);
  n[3] = direction;
  new DataView(n.buffer).setBigUint64(4, BigInt(counter));
  return n;
}

/** base64(header ‖ AES-GCM(plaintext) ‖ tag), the header (version, direction, counter) as associated data. */
export async function seal(key, direction, counter, text) {
  const h = header(direction, counter);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: gcmNonce(direction, counter), additionalData: h }, key, utf8(text)));
  const wire = new Uint8Array(HEADER_LENGTH + sealed.length);
  wire.set(h);
  wire.set(sealed, HEADER_LENGTH);
  return b64(wire);
}

export const aesKey = (raw) => crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);

const ecdh = { name: 'ECDH', namedCurve: 'P-256' };

async function importPublic(point) {
  if (point.length !== 65 || point[0] !== 4) throw new E2EError('bad-key', 'The public key is not an uncompressed P-256 point.');
  try {
    return await crypto.subtle.importKey('raw', point, ecdh, true, []);
  } catch {
    throw new E2EError('bad-key', 'The public key is not a point on P-256.');
  }
}

const systemEntropy = {
  newKeyPair: () => crypto.subtle.generateKey(ecdh, false, ['deriveBits']),
  randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
};

/** Checks a `key-exchange` signal's data; throws E2EError malformed (or version). */
export function parseMessage(data) {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new E2EError('malformed', 'The key-exchange data is not an object.');
  if (typeof data.e2e !== 'number') throw new E2EError('malformed', 'The key-exchange data has no e2e version.');
  if (data.e2e !== VERSION) throw new E2EError('version', `E2E version ${data.e2e} is not supported.`);
  const has = (...names) => names.every((n) => typeof data[n] === 'string');
  const complete = {
    commit: () => has('sid', 'commit'),
    key: () => has('sid', 'publicKey', 'fingerprint'),
    reveal: () => has('sid', 'publicKey', 'nonce', 'fingerprint'),
    restart: () => true,
  }[data.kind]?.();
  if (!complete) throw new E2EError('malformed', 'The key-exchange message lacks a field its kind needs.');
  return data;
}

/** One side of the conversation: key exchange (again whenever either side starts over), then chat. Feed it the
 *  messages in the order they arrived, one at a time (await each). */
export class E2ESession {
  /**
   * @param {object} o
   * @param {'initiator'|'responder'} o.role the caller is the initiator
   * @param {string} o.contextId the call id
   * @param {string} [o.localFingerprint] this side's DTLS fingerprint ('' for chat only)
   * @param {object} [o.entropy] {newKeyPair, randomBytes} (the vector tests give fixed ones)
   */
  constructor({ role, contextId, localFingerprint = '', entropy = systemEntropy }) {
    if (role !== 'initiator' && role !== 'responder') throw new Error('role must be initiator or responder');
    this.role = role;
    this.contextId = contextId;
    this.localFingerprint = normalizeFingerprint(localFingerprint);
    this.entropy = entropy;
    this.generation = 0;
    this.reset('idle');
  }

  reset(state) {
    this.state = state;
    this.keyPair = null;
    this.sid = null;
    this.nonce = null;
    this.myPublic = null;
    this.commit = null;
    this.sendAes = null;
    this.receiveAes = null;
    this.sent = 0;
    this.received = 0;
    this.checkCode = null;
    this.peerFingerprint = null;
  }

  get established() { return this.state === 'established'; }

  /** Initiator: a new commitment (dropping any keys agreed before). Responder: a request that the initiator start over. */
  async start() {
    if (this.role === 'responder') return { e2e: VERSION, kind: 'restart' };
    this.reset('awaiting-key');
    const keyPair = await this.entropy.newKeyPair();
    const myPublic = new Uint8Array(await crypto.subtle.exportKey('raw', keyPair.publicKey));
    const sid = this.entropy.randomBytes(SID_LENGTH);
    const nonce = this.entropy.randomBytes(NONCE_LENGTH);
    Object.assign(this, { keyPair, myPublic, sid, nonce });
    const commit = await commitment(this.contextId, sid, myPublic, this.localFingerprint, nonce);
    return { e2e: VERSION, kind: 'commit', sid: b64url(sid), commit: b64url(commit) };
  }

  /** Handles one received key-exchange message: {reply, established, reset}; throws E2EError for a refused one. */
  async receive(data) {
    const m = parseMessage(data);
    const wasEstablished = this.established;
    if (this.role === 'initiator' && m.kind === 'restart') return { reply: await this.start(), established: false, reset: wasEstablished };
    if (this.role === 'initiator' && m.kind === 'key') return this.receiveKey(m);
    if (this.role === 'responder' && m.kind === 'commit') {
      const sid = unb64url(m.sid, SID_LENGTH, 'session id');
      const commit = unb64url(m.commit, 32, 'commitment');
      this.reset('awaiting-reveal');
      const keyPair = await this.entropy.newKeyPair();
      const myPublic = new Uint8Array(await crypto.subtle.exportKey('raw', keyPair.publicKey));
      Object.assign(this, { keyPair, myPublic, sid, commit });
      const reply = { e2e: VERSION, kind: 'key', sid: m.sid, publicKey: b64url(myPublic), fingerprint: this.localFingerprint };
      return { reply, established: false, reset: wasEstablished };
    }
    if (this.role === 'responder' && m.kind === 'reveal') return this.receiveReveal(m);
    throw new E2EError('unexpected', `A ${m.kind} message is not for the ${this.role}.`);
  }

  requireCurrent(state, m) {
    if (this.state !== state || !this.sid || m.sid !== b64url(this.sid)) {
      throw new E2EError('unexpected', `A ${m.kind} message that is not for the key exchange under way.`);
    }
  }

  async receiveKey(m) {
    this.requireCurrent('awaiting-key', m);
    const theirs = unb64url(m.publicKey, 65, 'public key');
    const peerFingerprint = normalizeFingerprint(m.fingerprint);
    await this.establish(theirs, peerFingerprint, this.myPublic, theirs, this.localFingerprint, peerFingerprint, this.nonce);
    const reply = { e2e: VERSION, kind: 'reveal', sid: m.sid, publicKey: b64url(this.myPublic), nonce: b64url(this.nonce), fingerprint: this.localFingerprint };
    return { reply, established: true, reset: false };
  }

  async receiveReveal(m) {
    this.requireCurrent('awaiting-reveal', m);
    const theirs = unb64url(m.publicKey, 65, 'public key');
    const nonce = unb64url(m.nonce, NONCE_LENGTH, 'nonce');
    const peerFingerprint = normalizeFingerprint(m.fingerprint);
    const expected = await commitment(this.contextId, this.sid, theirs, peerFingerprint, nonce);
    if (!sameBytes(expected, this.commit)) {
      this.reset('failed');
      throw new E2EError('commit-mismatch', 'The revealed key does not match the commitment.');
    }
    await this.establish(theirs, peerFingerprint, theirs, this.myPublic, peerFingerprint, this.localFingerprint, nonce);
    return { reply: null, established: true, reset: false };
  }

  async establish(theirPublic, peerFingerprint, initiatorPublic, responderPublic, initiatorFingerprint, responderFingerprint, nonce) {
    const peerKey = await importPublic(theirPublic);
    const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: peerKey }, this.keyPair.privateKey, 256));
    const transcript = await transcriptHash(this.contextId, this.sid, initiatorPublic, responderPublic, initiatorFingerprint, responderFingerprint, nonce);
    const { i2r, r2i, checkCode } = await derive(shared, transcript);
    const [send, receive] = this.role === 'initiator' ? [i2r, r2i] : [r2i, i2r];
    this.sendAes = await aesKey(send);
    this.receiveAes = await aesKey(receive);
    for (const bytes of [shared, i2r, r2i]) bytes.fill(0);
    this.sent = 0;
    this.received = 0;
    this.checkCode = checkCode;
    this.peerFingerprint = peerFingerprint;
    this.keyPair = null;
    this.state = 'established';
    this.generation++;
  }

  get sendDirection() { return this.role === 'initiator' ? I2R : R2I; }

  get receiveDirection() { return this.role === 'initiator' ? R2I : I2R; }

  /** The Chat ciphertext of a text, under this direction's key with the next counter. */
  async encrypt(text) {
    if (!this.established) throw new E2EError('no-session', 'No keys are agreed yet.');
    const key = this.sendAes;
    const counter = ++this.sent; // taken before any await: never used twice
    return seal(key, this.sendDirection, counter, text);
  }

  /** {text, counter, missed} of a Chat ciphertext from the other side; throws E2EError (no-session, malformed, version,
   *  direction, replay, authentication) and changes nothing for a refused one. */
  async decrypt(ciphertext) {
    if (!this.established) throw new E2EError('no-session', 'No keys are agreed yet.');
    let wire;
    try { wire = unb64(ciphertext); } catch { throw new E2EError('malformed', 'The ciphertext is not base64.'); }
    if (wire.length < HEADER_LENGTH + TAG_LENGTH) throw new E2EError('malformed', 'The ciphertext is too short.');
    if (wire[0] !== VERSION) throw new E2EError('version', 'The message is of another version.');
    if (wire[1] !== this.receiveDirection) throw new E2EError('direction', "The message is of this side's own direction (reflected).");
    const counterBig = new DataView(wire.buffer, wire.byteOffset).getBigUint64(2);
    if (counterBig > BigInt(Number.MAX_SAFE_INTEGER)) throw new E2EError('malformed', 'The counter is out of range.');
    const counter = Number(counterBig);
    if (counter <= this.received) throw new E2EError('replay', 'The message\'s counter is not above the last one accepted (replayed or reordered).');
    const key = this.receiveAes;
    const received = this.received;
    let plain;
    try {
      plain = new Uint8Array(await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: gcmNonce(this.receiveDirection, counter), additionalData: wire.subarray(0, HEADER_LENGTH) }, key, wire.subarray(HEADER_LENGTH)));
    } catch {
      throw new E2EError('authentication', 'The message was altered or is not under this session\'s key.');
    }
    if (key !== this.receiveAes || this.received !== received) throw new E2EError('replay', 'The session changed while the message was decrypted.');
    let text;
    try { text = strictDecoder.decode(plain); } catch { throw new E2EError('malformed', 'The message is not UTF-8 text.'); }
    this.received = counter;
    return { text, counter, missed: counter - received - 1 };
  }
}
