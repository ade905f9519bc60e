// End-to-end encrypted file transfer, Files v1 (docs/e2e.md "Files (E2E v1 extension)"). No DOM and no transport of
// its own: give it an `encrypt`/`decrypt` pair (the E2E v1 session of the conversation) for control messages and a
// `send` function for frames; optionally a direct channel (an open RTCDataChannel) for chunks. The call's chat uses it
// through `Call.files`; a room can use one instance per participant pair with that pair's session.
//
// Control messages (offer, accept, decline, progress, done, cancel, saved) are JSON, encrypted as E2E v1 messages (so
// they share the session's counter, direction and replay rejection) and sent as the frame {m: ciphertext}. Chunks are
// AES-256-GCM under a fresh per-file key that travels inside the encrypted offer; a chunk is the frame {c: base64} on
// the relay, or the same bytes as one binary message on the direct channel.

export const FILES_VERSION = 1;
/** Default per-file cap (25 MiB), enforced by the sender and the receiver. */
export const DEFAULT_MAX_FILE_BYTES = 25 * 1024 * 1024;
/** Plaintext bytes per chunk (32 KiB): a relayed chunk frame is about 44 KB of JSON, under the 64 KiB signal cap. */
export const CHUNK_BYTES = 32 * 1024;
/** Chunks a sender may have in flight beyond the receiver's last `progress` (4 × 44 KB stay under half a 256 KiB
 *  mailbox window). */
export const WINDOW_CHUNKS = 4;
/** The receiver reports progress every this many chunks (and at the last one). */
export const PROGRESS_EVERY = 2;
/** Prefix of a control message's plaintext: a chat message never starts with it (a control message moved into the chat
 *  by the relay is refused, not shown). */
export const CONTROL_PREFIX = '\u0000qrcalling-file\u0000';

const CHUNK_HEADER = 21; // version (1) ‖ file id (16) ‖ index (4, big-endian)
const TAG = 16;
const ID_BYTES = 16;
const KEY_BYTES = 32;
const MAX_NAME = 255;
const RETRIES = 20; // a relayed send that fails (connection lost) is tried again every 1.5 s, from the last progress
const RETRY_DELAY_MS = 1500;

/** A refused file frame or a failed transfer; `reason` is stable: malformed, version, unknown, unexpected, order,
 *  authentication, size, too-large, hash. */
export class FileError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = 'FileError';
    this.reason = reason;
  }
}

const b64url = (bytes) => b64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
function b64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
function unb64(text) {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
function bytesField(text, length, what) {
  let bytes;
  try { bytes = typeof text === 'string' ? unb64(text) : null; } catch { bytes = null; }
  if (!bytes || bytes.length !== length) throw new FileError('malformed', `The ${what} is not ${length} bytes of base64url.`);
  return bytes;
}
const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Number of chunks of a file of `size` bytes (an empty file is one empty chunk). */
export const chunkCount = (size, chunkBytes = CHUNK_BYTES) => Math.max(1, Math.ceil(size / chunkBytes));

/** The 21-byte header (and associated data) of chunk `index` of file `fileId`. */
export function chunkHeader(fileId, index) {
  const header = new Uint8Array(CHUNK_HEADER);
  header[0] = FILES_VERSION;
  header.set(fileId, 1);
  new DataView(header.buffer).setUint32(17, index);
  return header;
}

/** The 96-bit AES-GCM nonce of chunk `index`: eight zero bytes and the index (big-endian). */
export function chunkNonce(index) {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(8, index);
  return nonce;
}

const importKey = (raw) => crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);

/** header ‖ AES-GCM(key, nonce(index), plaintext, aad = header) ‖ tag. `key`: 32 raw bytes or a CryptoKey. */
export async function sealChunk(key, fileId, index, plaintext) {
  const aes = key instanceof Uint8Array ? await importKey(key) : key;
  const header = chunkHeader(fileId, index);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: chunkNonce(index), additionalData: header }, aes, plaintext));
  const frame = new Uint8Array(CHUNK_HEADER + sealed.length);
  frame.set(header);
  frame.set(sealed, CHUNK_HEADER);
  return frame;
}

/** {fileId, index} of a chunk frame's header; throws FileError malformed/version. */
export function parseChunkHeader(frame) {
  if (!(frame instanceof Uint8Array) || frame.length < CHUNK_HEADER + TAG) throw new FileError('malformed', 'A file chunk is too short.');
  if (frame[0] !== FILES_VERSION) throw new FileError('version', 'A file chunk of another version.');
  return { fileId: frame.subarray(1, 1 + ID_BYTES), index: new DataView(frame.buffer, frame.byteOffset).getUint32(17) };
}

/** The plaintext of chunk frame `frame`; throws FileError authentication for a changed bit or another key. */
export async function openChunk(key, frame) {
  const { index } = parseChunkHeader(frame);
  const aes = key instanceof Uint8Array ? await importKey(key) : key;
  try {
    return new Uint8Array(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: chunkNonce(index), additionalData: frame.subarray(0, CHUNK_HEADER) }, aes, frame.subarray(CHUNK_HEADER)));
  } catch {
    throw new FileError('authentication', 'A file chunk was altered or is not under this file\'s key.');
  }
}

/** SHA-256 of bytes. */
export const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

/** A file name safe to show and save: no folders, no control characters, at most 255 characters. */
export function cleanName(name) {
  const base = String(name ?? '').split(/[\\/]/).pop().replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return (base === '' || base === '.' || base === '..' ? 'file' : base).slice(0, MAX_NAME);
}

/** "2.1 MB", "340 KB", "12 bytes" (binary units: 1 KB = 1024 bytes). */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} byte${bytes === 1 ? '' : 's'}`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
}

/** The control message of a plaintext (JSON after CONTROL_PREFIX), or a FileError. */
export function parseControl(text) {
  if (typeof text !== 'string' || !text.startsWith(CONTROL_PREFIX)) throw new FileError('malformed', 'Not a file control message.');
  let m;
  try { m = JSON.parse(text.slice(CONTROL_PREFIX.length)); } catch { throw new FileError('malformed', 'A file control message is not JSON.'); }
  if (!m || typeof m !== 'object') throw new FileError('malformed', 'A file control message is not an object.');
  if (m.file !== FILES_VERSION) throw new FileError('version', 'A file control message of another version.');
  if (typeof m.kind !== 'string' || typeof m.id !== 'string') throw new FileError('malformed', 'A file control message without kind or id.');
  bytesField(m.id, ID_BYTES, 'file id');
  return m;
}

export const controlText = (message) => CONTROL_PREFIX + JSON.stringify({ file: FILES_VERSION, ...message });

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The file transfers of one conversation. Events (CustomEvent; detail.transfer is a FileTransfer):
 * offer (incoming, waiting for accept/decline), progress, complete (receiver: verified, detail.blob), delivered (sender:
 * the receiver verified it), saved (sender: the receiver saved it), failed (detail.reason: declined, too-large,
 * cancelled (by the other side), cancelled-here, corrupt, connection), refused (a refused frame, detail.reason).
 */
export class FileTransfers extends EventTarget {
  /** @param {{encrypt: (text: string) => Promise<string>, decrypt?: (ciphertext: string) => Promise<string>, send: (frame: object) => Promise<unknown>, maxBytes?: number, chunkBytes?: number, window?: number}} o */
  constructor(o) {
    super();
    this.encrypt = o.encrypt;
    this.decrypt = o.decrypt ?? null;
    this.send = o.send;
    this.maxBytes = o.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.chunkBytes = o.chunkBytes ?? CHUNK_BYTES;
    this.window = o.window ?? WINDOW_CHUNKS;
    this.transfers = new Map(); // id (base64url) → transfer
    this.channel = null; // an open RTCDataChannel for chunks (peer to peer), or null: the relay
    this.closed = false;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  /** Chunks of transfers that start from now on go over this open data channel (null: the relay). A channel that closes
   *  mid-transfer falls back to the relay from the last confirmed chunk. */
  useChannel(channel) {
    this.channel = channel;
    if (!channel) return;
    channel.binaryType = 'arraybuffer';
    channel.addEventListener('message', (e) => {
      if (e.data instanceof ArrayBuffer) this.receiveChunk(new Uint8Array(e.data)).catch((err) => console.warn('file chunk', err));
    });
    channel.addEventListener('close', () => {
      if (this.channel === channel) this.channel = null;
      for (const t of this.transfers.values()) {
        if (t.direction === 'send' && t.via === 'direct' && t.state === 'sending') { t.via = 'relay'; t.next = t.acked; this.pump(t); }
      }
    });
  }

  async control(message) {
    const ciphertext = await this.encrypt(controlText(message));
    return this.send({ m: ciphertext });
  }

  /** Offers a file (a Blob/File, or {name, type, bytes}); resolves with the transfer once the offer was sent. Throws
   *  FileError too-large over the cap (nothing is sent). */
  async offer(file) {
    const isBlob = typeof Blob !== 'undefined' && file instanceof Blob; // (a Blob's `bytes` is a method, not the bytes)
    const size = isBlob ? file.size : file.bytes.length;
    if (size > this.maxBytes) throw new FileError('too-large', `The file is larger than ${formatSize(this.maxBytes)}.`);
    const bytes = isBlob ? new Uint8Array(await file.arrayBuffer()) : file.bytes;
    if (bytes.length !== size) throw new FileError('size', 'The file changed while it was read.');
    const idBytes = crypto.getRandomValues(new Uint8Array(ID_BYTES));
    const key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
    const t = {
      id: b64url(idBytes), idBytes, direction: 'send', name: cleanName(file.name), size, type: String(file.type ?? '').slice(0, 100),
      chunkBytes: this.chunkBytes, chunks: chunkCount(size, this.chunkBytes), bytes, aes: await importKey(key),
      sha256: await sha256(bytes), state: 'offered', next: 0, acked: 0, issued: 0, via: 'relay', sending: false, retries: 0,
    };
    this.transfers.set(t.id, t);
    await this.control({ kind: 'offer', id: t.id, name: t.name, size, type: t.type, chunkBytes: t.chunkBytes, chunks: t.chunks, sha256: b64url(t.sha256), key: b64url(key) });
    key.fill(0);
    return t;
  }

  /** Receiver: accept an offered file; its chunks start to flow. */
  async accept(id) {
    const t = this.transfers.get(id);
    if (!t || t.direction !== 'receive' || t.state !== 'offered') return;
    t.state = 'receiving';
    await this.control({ kind: 'accept', id });
    this.emit('progress', { transfer: t });
  }

  /** Receiver: decline an offered file (nothing of it is sent). */
  async decline(id, reason = 'declined') {
    const t = this.transfers.get(id);
    if (!t || t.direction !== 'receive' || t.state !== 'offered') return;
    this.finish(t, 'declined');
    t.reason = 'declined';
    this.emit('failed', { transfer: t, reason: 'declined' });
    await this.control({ kind: 'decline', id, reason });
  }

  /** Either side: stop a transfer under way (or an offer not answered yet). */
  async cancel(id) {
    const t = this.transfers.get(id);
    if (!t || !['offered', 'sending', 'receiving'].includes(t.state)) return;
    this.fail(t, 'cancelled-here');
    await this.control({ kind: 'cancel', id, reason: 'cancelled' }).catch(() => {});
  }

  /** Receiver: tell the sender the person saved the file (the download notification). */
  async markSaved(id) {
    const t = this.transfers.get(id);
    if (!t || t.direction !== 'receive' || t.state !== 'complete' || t.savedSent) return;
    t.savedSent = true;
    try {
      await this.control({ kind: 'saved', id });
    } catch (e) {
      t.savedSent = false; // sent once the connection is back (reconnected)
      t.savedPending = true;
      throw e;
    }
    t.savedPending = false;
  }

  /** A `file` frame from the relay: {m: E2E ciphertext} (a control message) or {c: base64 chunk}. Call in arrival order
   *  (after the session's other messages: control messages share its counter). */
  async receiveFrame(frame) {
    try {
      if (typeof frame?.m === 'string') {
        if (!this.decrypt) throw new FileError('unexpected', 'No decrypt function for control messages.');
        return await this.receiveControl(await this.decrypt(frame.m));
      }
      if (typeof frame?.c === 'string') {
        let bytes;
        try { bytes = unb64(frame.c); } catch { throw new FileError('malformed', 'A file chunk is not base64.'); }
        return await this.receiveChunk(bytes);
      }
      throw new FileError('malformed', 'A file frame is neither a control message nor a chunk.');
    } catch (e) {
      if (!(e instanceof FileError) && typeof e?.reason !== 'string') throw e; // FileError or E2EError
      this.emit('refused', { reason: e.reason });
    }
  }

  /** A decrypted control message's plaintext. Throws FileError for a refused one. */
  async receiveControl(text) {
    const m = parseControl(text);
    const t = this.transfers.get(m.id);
    if (m.kind === 'offer') {
      if (t) throw new FileError('unexpected', 'A second offer for the same file.');
      return this.receiveOffer(m);
    }
    if (!t) throw new FileError('unknown', 'A control message for an unknown file.');
    const mine = t.direction === 'send'; // messages for a sender come from its receiver, and the other way round
    switch (m.kind) {
      case 'accept':
        if (!mine || t.state !== 'offered') throw new FileError('unexpected', 'An accept that is not for an offer of this side.');
        t.state = 'sending';
        t.via = this.channel?.readyState === 'open' ? 'direct' : 'relay';
        this.emit('progress', { transfer: t });
        this.pump(t);
        return;
      case 'decline':
        if (!mine || t.state !== 'offered') throw new FileError('unexpected', 'A decline that is not for an offer of this side.');
        return this.fail(t, m.reason === 'too-large' ? 'too-large' : 'declined');
      case 'progress': {
        if (!mine || t.state !== 'sending') throw new FileError('unexpected', 'Progress for a file that is not being sent.');
        const received = m.received;
        if (!Number.isInteger(received) || received < 0 || received > t.chunks) throw new FileError('malformed', 'Progress beyond the file.');
        if (received <= t.acked) return; // an older report (sent before chunks were sent again)
        t.acked = received;
        if (received > t.next) t.next = received;
        t.retries = 0;
        this.emit('progress', { transfer: t });
        this.pump(t);
        return;
      }
      case 'done':
        // Every chunk must have gone out (`issued`), though the relay may not have confirmed the last send yet: it
        // delivers before it answers, so the receiver's done can overtake that confirmation.
        if (!mine || t.state !== 'sending' || t.issued !== t.chunks) throw new FileError('unexpected', 'A done before every chunk was sent.');
        t.acked = t.chunks;
        t.next = t.chunks;
        this.finish(t, 'delivered');
        this.emit('delivered', { transfer: t });
        return;
      case 'saved':
        if (!mine || t.state !== 'delivered') throw new FileError('unexpected', 'A saved notification for a file not delivered.');
        t.saved = (t.saved ?? 0) + 1;
        this.emit('saved', { transfer: t });
        return;
      case 'cancel':
        if (!['offered', 'sending', 'receiving'].includes(t.state)) return; // it ended here already
        return this.fail(t, m.reason === 'corrupt' ? 'corrupt' : m.reason === 'too-large' ? 'too-large' : m.reason === 'failed' ? 'connection' : 'cancelled');
      default:
        throw new FileError('malformed', `Unknown file control message ${m.kind}.`);
    }
  }

  async receiveOffer(m) {
    const size = m.size;
    const chunkBytes = m.chunkBytes;
    if (!Number.isSafeInteger(size) || size < 0 || !Number.isInteger(chunkBytes) || chunkBytes < 1024 || chunkBytes > 48 * 1024
      || m.chunks !== chunkCount(size, chunkBytes) || typeof m.name !== 'string') {
      throw new FileError('malformed', 'An offer with impossible sizes.');
    }
    const key = bytesField(m.key, KEY_BYTES, 'file key');
    const t = {
      id: m.id, idBytes: unb64(m.id), direction: 'receive', name: cleanName(m.name), size, type: typeof m.type === 'string' ? m.type.slice(0, 100) : '',
      chunkBytes, chunks: m.chunks, sha256: bytesField(m.sha256, 32, 'hash'), aes: await importKey(key), state: 'offered', next: 0, parts: [], received: 0,
    };
    key.fill(0);
    this.transfers.set(t.id, t);
    if (size > this.maxBytes) {
      // Refused without asking: over this side's cap.
      this.finish(t, 'declined');
      this.emit('failed', { transfer: t, reason: 'too-large' });
      await this.control({ kind: 'decline', id: t.id, reason: 'too-large' });
      return;
    }
    this.emit('offer', { transfer: t });
  }

  /** One chunk frame (from the relay or the direct channel). */
  async receiveChunk(frame) {
    try {
      const { fileId, index } = parseChunkHeader(frame);
      const t = this.transfers.get(b64url(fileId));
      if (!t || t.direction !== 'receive') throw new FileError('unknown', 'A chunk of an unknown file.');
      if (t.state !== 'receiving') throw new FileError('unexpected', 'A chunk of a file that is not being received.');
      if (index < t.next) {
        // Received before: sent again after a lost connection (say where this side is), or replayed.
        if (!t.resync) { t.resync = true; await this.control({ kind: 'progress', id: t.id, received: t.next }); }
        throw new FileError('order', 'A chunk received before (replayed, or sent again after a lost connection).');
      }
      const plain = await openChunk(t.aes, frame);
      if (t.state !== 'receiving') return;
      if (index !== t.next) {
        // A chunk went missing (or the relay reordered them): the file cannot be trusted.
        await this.abort(t, 'corrupt', new FileError('order', 'A chunk arrived out of order.'));
        return;
      }
      const expected = index === t.chunks - 1 ? t.size - index * t.chunkBytes : t.chunkBytes;
      if (plain.length !== expected) { await this.abort(t, 'corrupt', new FileError('size', 'A chunk of the wrong size.')); return; }
      t.parts.push(plain);
      t.resync = false;
      t.next = index + 1;
      t.received += plain.length;
      this.emit('progress', { transfer: t });
      if (t.next === t.chunks) return this.complete(t);
      if (t.next % PROGRESS_EVERY === 0) await this.control({ kind: 'progress', id: t.id, received: t.next });
    } catch (e) {
      if (!(e instanceof FileError)) throw e; // (a control message lost with the connection: reconnected() says it again)
      this.emit('refused', { reason: e.reason });
    }
  }

  async complete(t) {
    const blob = new Blob(t.parts, { type: t.type || 'application/octet-stream' });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (bytes.length !== t.size || !sameBytes(await sha256(bytes), t.sha256)) {
      await this.abort(t, 'corrupt', new FileError('hash', 'The file does not match the hash in its offer.'));
      return;
    }
    t.parts = [];
    t.blob = blob;
    this.finish(t, 'complete');
    // `done` goes out before anything the page does with the file (its `saved` must follow it).
    try { await this.control({ kind: 'done', id: t.id }); t.doneSent = true; } catch (e) { console.warn('file done', e?.message); }
    this.emit('complete', { transfer: t, blob });
  }

  async abort(t, reason, error) {
    this.emit('refused', { reason: error.reason });
    this.fail(t, reason);
    await this.control({ kind: 'cancel', id: t.id, reason }).catch(() => {});
  }

  finish(t, state) {
    t.state = state;
    if (t.direction === 'send' && state !== 'delivered') t.bytes = null;
    if (state === 'delivered') t.bytes = null;
    if (t.direction === 'receive' && state !== 'complete') t.parts = [];
  }

  fail(t, reason) {
    this.finish(t, 'failed');
    t.reason = reason;
    this.emit('failed', { transfer: t, reason });
  }

  /** Sends chunks while the window allows; one pump runs per transfer. Progress messages re-start it. */
  async pump(t) {
    if (t.sending) return;
    t.sending = true;
    try {
      while (t.state === 'sending' && t.next < t.chunks && t.next - t.acked < this.window) {
        const index = t.next;
        const plain = t.bytes.subarray(index * t.chunkBytes, Math.min(t.size, (index + 1) * t.chunkBytes));
        const frame = await sealChunk(t.aes, t.idBytes, index, plain);
        if (t.state !== 'sending') return;
        t.issued = Math.max(t.issued, index + 1);
        try {
          if (!await this.sendChunk(t, frame)) continue; // the channel closed: on through the relay from t.acked
        } catch (e) {
          if (t.state !== 'sending') return;
          // Connection lost: from the last confirmed chunk again, a little later (the receiver ignores repeats).
          if (++t.retries > RETRIES) {
            this.fail(t, 'connection');
            await this.control({ kind: 'cancel', id: t.id, reason: 'failed' }).catch(() => {});
            return;
          }
          this.emit('progress', { transfer: t, stalled: true });
          await delay(RETRY_DELAY_MS);
          t.next = t.acked;
          continue;
        }
        if (t.next === index) t.next = index + 1;
      }
    } finally {
      t.sending = false;
    }
  }

  /** Sends one chunk (direct or relayed); false when it was not sent because the direct channel closed. */
  async sendChunk(t, frame) {
    const channel = t.via === 'direct' ? this.channel : null;
    if (channel && channel.readyState === 'open') {
      // Back-pressure on the data channel: wait while a megabyte is buffered.
      while (channel.bufferedAmount > 1024 * 1024 && channel.readyState === 'open') await delay(20);
      channel.send(frame);
      return true;
    }
    if (t.via === 'direct') {
      // The channel closed under this transfer (before its close event came): what it still held may be lost, so the
      // relay goes on from the last confirmed chunk, not from this one (the receiver would see a gap: corrupt).
      t.via = 'relay';
      t.next = t.acked;
      return false;
    }
    await this.send({ c: b64(frame) });
    return true;
  }

  /** Call after this side's connection came back and what was missed meanwhile was handled: says again what may have
   *  been lost with the connection. A receiver's progress (else a sender whose window is full waits for ever), its done
   *  (else the sender never learns the file arrived) and a saved notice; a sender's chunks go on (what was missed may
   *  have opened its window). The other side ignores an older progress, and refuses a second done. */
  async reconnected() {
    if (this.closed) return;
    for (const t of [...this.transfers.values()]) {
      try {
        if (t.direction === 'send') {
          if (t.state === 'sending') this.pump(t); // (a pump waiting out a failed send goes on by itself)
        } else if (t.state === 'receiving' && t.next > 0) {
          await this.control({ kind: 'progress', id: t.id, received: t.next });
        } else if (t.state === 'complete') {
          if (!t.doneSent) { await this.control({ kind: 'done', id: t.id }); t.doneSent = true; }
          if (t.savedPending) await this.markSaved(t.id);
        }
      } catch (e) {
        console.warn('file resync', e?.message); // the next reconnect tries again
      }
    }
  }

  /** Stops everything (the call ended): transfers under way fail as "connection". */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.transfers.values()) {
      if (['offered', 'sending', 'receiving'].includes(t.state)) this.fail(t, 'connection');
    }
  }
}
