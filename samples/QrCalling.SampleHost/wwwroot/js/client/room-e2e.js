// QrCalling rooms, E2E v1 extension (docs/e2e.md, "Rooms"): one E2E v1 session (client/e2e.js, unchanged) between
// every two participants of a room. The pair's roles come from ordering the two participant ids (the smaller one,
// by UTF-16 code units, is the initiator), and the context id binds the room id and both ids in that order. Key-exchange
// messages travel as `Send` of kind `key` to the one peer (the same JSON objects as a call's `key-exchange` data);
// everything else as one AES-GCM ciphertext per recipient under that pair's per-direction key. No DOM, no network: the
// page (or rooms.js) moves the messages.
import { E2EError, E2ESession } from './e2e.js';

/** The envelope inside every room ciphertext: the kind is bound under the encryption (the server sees `kind` in
 * clear and could change it). */
const ENVELOPE_VERSION = 1;

/** 'initiator' when `myId` sorts before `peerId` (UTF-16 code units), else 'responder'. */
export function roomPairRole(myId, peerId) {
  if (typeof myId !== 'string' || typeof peerId !== 'string' || !myId || !peerId || myId === peerId) {
    throw new TypeError('Two different participant ids are needed.');
  }
  return myId < peerId ? 'initiator' : 'responder';
}

/** The E2E v1 context id of the pair: `room:<roomId>:<initiatorId>:<responderId>` (ids never contain ':'). */
export function roomContextId(roomId, idA, idB) {
  for (const part of [roomId, idA, idB]) {
    if (typeof part !== 'string' || !part || part.includes(':')) throw new TypeError('Room and participant ids are non-empty and hold no ":".');
  }
  const [initiator, responder] = idA < idB ? [idA, idB] : [idB, idA];
  return `room:${roomId}:${initiator}:${responder}`;
}

/** The plaintext of a room message: UTF-8 JSON `{"v":1,"kind":…,"body":…}`. */
export function roomPlaintext(kind, body) {
  return JSON.stringify({ v: ENVELOPE_VERSION, kind, body });
}

function openEnvelope(text, kind) {
  let envelope;
  try { envelope = JSON.parse(text); } catch { throw new E2EError('malformed', 'The message is not a room envelope.'); }
  if (!envelope || typeof envelope !== 'object' || envelope.v !== ENVELOPE_VERSION || typeof envelope.kind !== 'string') {
    throw new E2EError('malformed', 'The message is not a room envelope.');
  }
  if (envelope.kind !== kind) throw new E2EError('kind', 'The message was relayed under another kind than it was sent with.');
  return envelope.body;
}

/**
 * The pairwise sessions of one participant in one room. Events (EventTarget):
 *  - `pair` {peerId, status: 'exchanging'|'established'|'reset'|'failed'|'removed', checkCode, changed, reason}
 * `changed` is true when an established pair's code was replaced (a new exchange: the peer reloaded, or someone
 * interfered); the page must show it.
 */
export class RoomE2E extends EventTarget {
  /**
   * @param {object} o
   * @param {string} o.roomId
   * @param {string} o.myId this participant's id
   * @param {object} [o.entropy] {newKeyPair, randomBytes} per peer: `(peerId) => entropy` (the vector tests give fixed ones)
   */
  constructor({ roomId, myId, entropy }) {
    super();
    if (!roomId || !myId) throw new TypeError('RoomE2E needs roomId and myId.');
    this.roomId = roomId;
    this.myId = myId;
    this.entropy = entropy;
    /** @type {Map<string, {session: E2ESession, codes: number, failed: boolean}>} */
    this.pairs = new Map();
    this.queue = Promise.resolve();
  }

  /** Runs one operation at a time (received messages must be handled in order, one at a time). */
  serialize(operation) {
    const run = this.queue.then(operation, operation);
    this.queue = run.catch(() => {});
    return run;
  }

  pair(peerId) {
    let pair = this.pairs.get(peerId);
    if (!pair) {
      const options = { role: roomPairRole(this.myId, peerId), contextId: roomContextId(this.roomId, this.myId, peerId) };
      const entropy = typeof this.entropy === 'function' ? this.entropy(peerId) : this.entropy;
      if (entropy) options.entropy = entropy;
      pair = { session: new E2ESession(options), codes: 0, failed: false };
      this.pairs.set(peerId, pair);
    }
    return pair;
  }

  role(peerId) { return roomPairRole(this.myId, peerId); }

  /** The pair's check code ("123 456") once established, else null. */
  checkCode(peerId) { return this.pairs.get(peerId)?.session.checkCode ?? null; }

  established(peerId) { return this.pairs.get(peerId)?.session.established === true; }

  /** The peers with established sessions. */
  get readyPeers() { return [...this.pairs].filter(([, p]) => p.session.established).map(([id]) => id); }

  emit(detail) { this.dispatchEvent(new CustomEvent('pair', { detail })); }

  /** Starts (or starts over) the exchange with a peer, as a participant that (re)joined with fresh keys does for every
   * peer: the `key` message to send it (a `commit` from the pair's initiator, a `restart` from its responder). */
  start(peerId) {
    return this.serialize(async () => {
      const pair = this.pair(peerId);
      const wasEstablished = pair.session.established;
      const message = await pair.session.start();
      pair.failed = false;
      this.emit({ peerId, status: wasEstablished ? 'reset' : 'exchanging', checkCode: null, changed: false });
      return message;
    });
  }

  /** Handles a `key` message from a peer: `{reply, established, checkCode, changed}` (`reply`: the `key` message to
   * send back, or null). Throws E2EError for a refused one (nothing changes, except a failed commitment check, which
   * leaves the pair without keys until a new exchange). */
  receiveKey(peerId, data) {
    return this.serialize(async () => {
      const pair = this.pair(peerId);
      const hadCode = pair.codes > 0;
      let result;
      try {
        result = await pair.session.receive(data);
      } catch (e) {
        if (e instanceof E2EError && e.reason === 'commit-mismatch') {
          pair.failed = true;
          this.emit({ peerId, status: 'failed', checkCode: null, changed: false, reason: e.reason });
        }
        throw e;
      }
      if (result.reset) this.emit({ peerId, status: 'reset', checkCode: null, changed: false });
      if (result.established) {
        pair.codes++;
        pair.failed = false;
        this.emit({ peerId, status: 'established', checkCode: pair.session.checkCode, changed: hadCode });
      } else if (!result.reset && !pair.session.established) {
        this.emit({ peerId, status: 'exchanging', checkCode: null, changed: false });
      }
      return { reply: result.reply ?? null, established: result.established, checkCode: pair.session.checkCode, changed: result.established && hadCode };
    });
  }

  /** One ciphertext per peer with an established session: `{ciphertexts: {peerId: ciphertext}, skipped: [peerId]}`
   * (`skipped`: the asked peers without keys yet; they get nothing). */
  encryptFor(peerIds, kind, body) {
    return this.serialize(async () => {
      const ciphertexts = {};
      const skipped = [];
      const plaintext = roomPlaintext(kind, body);
      for (const peerId of peerIds) {
        const pair = this.pairs.get(peerId);
        if (!pair?.session.established) { skipped.push(peerId); continue; }
        ciphertexts[peerId] = await pair.session.encrypt(plaintext);
      }
      return { ciphertexts, skipped };
    });
  }

  /** `{body, missed}` of a peer's ciphertext received under `kind`; throws E2EError (no-session, malformed, version,
   * direction, replay, authentication, kind) and changes nothing for a refused one. */
  decryptFrom(peerId, kind, ciphertext) {
    return this.serialize(async () => {
      const pair = this.pairs.get(peerId);
      if (!pair?.session.established) throw new E2EError('no-session', 'No keys are agreed with this participant yet.');
      const { text, missed } = await pair.session.decrypt(ciphertext);
      return { body: openEnvelope(text, kind), missed };
    });
  }

  /** Forgets a peer (it left): its keys are dropped. */
  remove(peerId) {
    if (this.pairs.delete(peerId)) this.emit({ peerId, status: 'removed', checkCode: null, changed: false });
  }
}
