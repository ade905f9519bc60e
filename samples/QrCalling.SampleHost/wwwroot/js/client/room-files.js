// Files in rooms (docs/e2e.md "10.8 Files in rooms", docs/protocol.md "Rooms (additive)"): Files v1 (files.js, as it
// is) once per pair of participants, over that pair's E2E v1 session (room-e2e.js) and the room hub (rooms.js). Rooms
// have no WebRTC: everything goes through the relay. No DOM: a page renders from each pair's FileTransfers events.
//
// Room entries (one recipient each):
// - kind `file`: a control message (offer, accept, decline, done, cancel, saved), the pair's E2E v1 ciphertext of the
//   room envelope {v: 1, kind: "file", body: <control plaintext>}.
// - kind `file-chunk`: JSON text, either {"c": <base64 chunk>} (under the file's own key) or {"m": <E2E ciphertext>}
//   (a `progress` control message, envelope kind "file-chunk"). The server drops a recipient's `file-chunk` entries
//   once it acknowledged them, so a file's chunks and its many progress reports never stay in the room's history.
import { E2EError } from './e2e.js';
import { refusedSendBackoff } from './rooms.js';
import { DEFAULT_MAX_FILE_BYTES, FileError, FileTransfers, formatSize, parseControl } from './files.js';

export const ROOM_FILE_KIND = 'file';
export const ROOM_FILE_CHUNK_KIND = 'file-chunk';

/** Delay before trying a refused relay send again: `rate_limited` (a recipient's window or the room's history is full
 * until the others acknowledge, or this participant sends too fast) and `storage_unavailable` back off up to 4 s, for
 * about a minute in all; anything else (too_large, unknown_participant, a lost connection) is not retried here. */
export function roomFileBackoff(attempt, code) {
  return refusedSendBackoff(attempt, code, 20);
}

/**
 * The file transfers of one participant in a room: one FileTransfers per other participant, made when first needed.
 * Events (CustomEvent): `files` {peerId, files} as a pair's FileTransfers is made (before it sees any frame: listen to
 * it there), `refused` {peerId, reason} for a refused frame.
 */
export class RoomFiles extends EventTarget {
  /** @param {import('./rooms.js').Room} room @param {{maxBytes?: number, window?: number}} [options] */
  constructor(room, { maxBytes = DEFAULT_MAX_FILE_BYTES, window } = {}) {
    super();
    this.room = room;
    this.maxBytes = maxBytes;
    this.window = window;
    /** @type {Map<string, FileTransfers>} */
    this.pairs = new Map();
    /** Per pair: the file frames received and not handled yet, in order. */
    this.queues = new Map();
    room.handleKind(ROOM_FILE_KIND, (m) => this.receive(m));
    room.handleKind(ROOM_FILE_CHUNK_KIND, (m) => this.receive(m));
    // A pair that starts over (a reload), fails or leaves ends its transfers ("the connection was lost"): their keys
    // and file ids belong to the old session.
    room.addEventListener('pair', (e) => {
      if (['reset', 'removed', 'failed'].includes(e.detail.status)) this.drop(e.detail.peerId);
    });
    room.addEventListener('ended', () => { for (const peerId of [...this.pairs.keys()]) this.drop(peerId); });
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  /** The FileTransfers of the pair with `peerId`. */
  of(peerId) {
    let files = this.pairs.get(peerId);
    if (!files) {
      files = new FileTransfers({
        // Control messages are encrypted in `send`, inside the room's send queue, so that the pair's counters reach
        // the hub in order whatever else is sent meanwhile; FileTransfers hands over the plaintext.
        encrypt: async (text) => text,
        decrypt: async (text) => text, // decrypted in `receive` (the envelope's kind depends on the entry's)
        send: (frame) => this.send(peerId, frame),
        maxBytes: this.maxBytes,
        window: this.window,
      });
      files.addEventListener('refused', (e) => this.emit('refused', { peerId, reason: e.detail.reason }));
      this.pairs.set(peerId, files);
      this.emit('files', { peerId, files });
    }
    return files;
  }

  drop(peerId) {
    const files = this.pairs.get(peerId);
    if (!files) return;
    this.pairs.delete(peerId);
    this.queues.delete(peerId);
    files.close();
  }

  /** Offers a file (a Blob/File) to every present participant with agreed keys, one transfer each:
   * `{transfers: [{peerId, transfer}], skipped: [peerId], failed: [peerId]}` (`skipped`: participants without keys yet;
   * `failed`: those the offer could not be sent to). Throws FileError too-large over the cap (nothing sent), an Error
   * with `code` 'alone' / 'no_keys' when nobody can get it, or the error of the only offer when none went out. */
  async offer(file) {
    if (file.size > this.maxBytes) throw new FileError('too-large', `The file is larger than ${formatSize(this.maxBytes)}.`);
    const peers = this.room.peers;
    const ready = peers.filter((id) => this.room.e2e.established(id));
    if (ready.length === 0) {
      const error = new Error(peers.length === 0 ? 'Nobody else is in the room.' : 'Encryption is not set up with anybody yet.');
      error.code = peers.length === 0 ? 'alone' : 'no_keys';
      throw error;
    }
    const bytes = new Uint8Array(await file.arrayBuffer()); // read once, shared by every recipient's transfer
    if (bytes.length !== file.size) throw new FileError('size', 'The file changed while it was read.');
    const transfers = [];
    const failed = [];
    let lastError = null;
    for (const peerId of ready) {
      try {
        transfers.push({ peerId, transfer: await this.of(peerId).offer({ name: file.name, type: file.type, bytes }) });
      } catch (e) {
        failed.push(peerId);
        lastError = e;
      }
    }
    if (transfers.length === 0) throw lastError;
    return { transfers, skipped: peers.filter((id) => !ready.includes(id)), failed };
  }

  /** Sends one frame of the pair's transfers to that participant only. */
  send(peerId, frame) {
    const room = this.room;
    if (typeof frame.c === 'string') {
      return room.relay(ROOM_FILE_CHUNK_KIND, { [peerId]: JSON.stringify({ c: frame.c }) }, { retry: roomFileBackoff });
    }
    const kind = parseControl(frame.m).kind === 'progress' ? ROOM_FILE_CHUNK_KIND : ROOM_FILE_KIND;
    return room.queueSend(async () => {
      const { ciphertexts } = await room.e2e.encryptFor([peerId], kind, frame.m);
      const ciphertext = ciphertexts[peerId];
      if (!ciphertext) throw new E2EError('no-session', 'No keys are agreed with this participant.');
      return room.relay(kind, { [peerId]: kind === ROOM_FILE_KIND ? ciphertext : JSON.stringify({ m: ciphertext }) }, { retry: roomFileBackoff });
    });
  }

  /** A `file` or `file-chunk` entry (the room hands them over in order). Decryption starts at once, in the room's
   * order (the pair's counter); the pair's file work then runs in its own queue, so that the room goes on with its next
   * entries (and acknowledges them) while a receiver's `progress` or `done` waits for the hub. */
  receive(m) {
    const files = this.of(m.from);
    let frame;
    if (m.kind === ROOM_FILE_KIND) {
      frame = this.open(m, m.ciphertext).then((body) => ({ m: body }));
    } else {
      let parsed;
      try { parsed = JSON.parse(m.ciphertext); } catch { parsed = null; }
      frame = typeof parsed?.m === 'string' ? this.open(m, parsed.m).then((body) => ({ m: body })) : Promise.resolve(parsed);
    }
    frame.catch(() => {}); // handled below, in the pair's queue
    const run = (this.queues.get(m.from) ?? Promise.resolve()).then(async () => {
      let opened;
      try {
        opened = await frame;
      } catch (e) {
        this.room.emit('undecryptable', { count: 1, seq: m.seq, from: m.from, name: this.room.nameOf(m.from), reason: e instanceof E2EError ? e.reason : 'failed' });
        return;
      }
      if (this.pairs.get(m.from) === files) await files.receiveFrame(opened);
    }).catch((e) => console.warn('room file frame', e?.message));
    this.queues.set(m.from, run);
    return Promise.resolve();
  }

  async open(m, ciphertext) {
    const { body, missed } = await this.room.e2e.decryptFrom(m.from, m.kind, ciphertext);
    if (missed > 0) this.room.emit('message', { seq: m.seq, from: m.from, name: this.room.nameOf(m.from), kind: m.kind, body: null, at: m.at, missed });
    if (typeof body !== 'string') throw new E2EError('malformed', 'A file message without a control message.');
    return body;
  }
}
