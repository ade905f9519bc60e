// QrCalling rooms (docs/protocol.md "Rooms (additive)", docs/e2e.md "Rooms"): the REST routes and the /hubs/rooms hub
// connection of one participant, with the pairwise end-to-end encryption of room-e2e.js. No DOM: a page renders from
// the events of a `Room`.
//
//   const api = new QrCallingApi();
//   const created = await createRoom(api);                        // {roomId, link, expiresAt, maxParticipants}
//   const room = await joinRoom({ api, signalR, link: created.link, displayName: 'Anna', on: {
//     message: (e) => console.log(e.detail.name, e.detail.body),
//     pair: (e) => console.log(`Compare with ${e.detail.name}: ${e.detail.checkCode}`),
//   } });
//   await room.sendText('Hello');
import { createHubConnection, hubErrorCode } from './rest.js';
import { E2EError } from './e2e.js';
import { RoomE2E } from './room-e2e.js';

const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');

/** The parts of a room link or bare payload (`PQR:1:<ROOMID>:<SECRET>`, any case, white space trimmed, the link's
 * fragment percent-decoded): `{roomId, secret, payload}` (upper case), or null when it is not one. */
export function parseRoomLink(text) {
  let value = String(text ?? '').trim();
  const hash = value.indexOf('#');
  if (hash >= 0) value = value.slice(hash + 1);
  try { value = decodeURIComponent(value); } catch { return null; }
  value = value.trim().toUpperCase();
  const match = /^PQR:1:([A-Z2-7]{26}):([A-Z2-7]{52})$/.exec(value);
  return match ? { roomId: match[1], secret: match[2], payload: value } : null;
}

/** POST /rooms: `{roomId, link, expiresAt, maxParticipants}`, with `signed: true` also `{signedPayload, signedLink,
 * keyId}` (a signed, expiring QR of the room; a host without a signing key refuses: ApiError `signing_unavailable`);
 * solves the proof of work a busy host asks for. */
export async function createRoom(api, { expiresInSeconds, maxParticipants, signed, maxRounds = 3, onProof } = {}) {
  const body = {};
  if (expiresInSeconds !== undefined) body.expiresInSeconds = expiresInSeconds;
  if (maxParticipants !== undefined) body.maxParticipants = maxParticipants;
  if (signed) body.signed = true;
  for (let round = 0; ; round++) {
    try {
      return await api.request('/rooms', { method: 'POST', body });
    } catch (e) {
      const { challenge, difficulty } = e?.problem ?? {};
      if (e?.code !== 'proof_required' || round >= maxRounds || typeof challenge !== 'string' || !(difficulty > 0)) throw e;
      onProof?.(round + 1);
      const { solveProof } = await import('./rest.js');
      body.proof = { challenge, solution: await solveProof(challenge, difficulty) };
    }
  }
}

/** POST /rooms/join: `{roomId, participantId, participantToken, expiresAt, maxParticipants}`. With the token of an
 * earlier join (a reload), the same participant id comes back. */
export function joinRoomRequest(api, link, { displayName, participantToken } = {}) {
  const parsed = parseRoomLink(link);
  const body = { link: parsed ? parsed.payload : String(link ?? '') };
  if (displayName) body.displayName = displayName;
  if (participantToken) body.participantToken = participantToken;
  return api.request('/rooms/join', { method: 'POST', body });
}

/** GET /rooms/{roomId}. */
export function getRoom(api, roomId, participantToken) {
  return api.request(`/rooms/${encodeURIComponent(roomId)}`, { token: participantToken });
}

/** POST /rooms/{roomId}/leave. */
export function leaveRoomRequest(api, roomId, participantToken) {
  return api.request(`/rooms/${encodeURIComponent(roomId)}/leave`, { method: 'POST', token: participantToken });
}

/** POST /rooms/{roomId}/qr: the room link's QR image as a Blob (`png` or `svg`). */
export function roomQr(api, roomId, participantToken, link, format = 'svg') {
  return api.request(`/rooms/${encodeURIComponent(roomId)}/qr`, {
    method: 'POST', token: participantToken, body: { link, format },
    accept: format === 'png' ? 'image/png' : 'image/svg+xml',
  });
}

/** How long to wait before sending a refused `Send` again (attempt 1, 2, …), or null to give up: only refusals that
 * stored nothing and pass (`rate_limited`: a recipient's window or the history is full until the others acknowledge;
 * `storage_unavailable`), 250 ms doubling up to 4 s, with jitter, for at most `maxAttempts` tries. */
export function refusedSendBackoff(attempt, code, maxAttempts) {
  if ((code !== 'rate_limited' && code !== 'storage_unavailable') || attempt > maxAttempts) return null;
  return Math.round(Math.min(250 * 2 ** (attempt - 1), 4000) * (0.75 + Math.random() / 2));
}

/** Messages and key-exchange messages: five tries, about 8 s in all. */
const sendBackoff = (attempt, code) => refusedSendBackoff(attempt, code, 5);

/**
 * One participant in one room: the hub connection, the participants, the pairwise E2E sessions, messages in and out.
 * Events (CustomEvent): joined, participants, participant-joined, participant-left, message, undecryptable, sent,
 * typing, pair, connection, ended, problem. Details in qrcalling-client.d.ts.
 */
export class Room extends EventTarget {
  constructor({ hub, api, roomId, participantId, participantToken, expiresAt, maxParticipants, restored, entropy }) {
    super();
    this.hub = hub;
    this.api = api;
    this.roomId = roomId;
    this.participantId = participantId;
    this.participantToken = participantToken;
    this.expiresAt = expiresAt;
    this.maxParticipants = maxParticipants;
    /** @type {Map<string, {participantId: string, displayName: string|null, joinedAt: string|null, number: number, present: boolean}>} */
    this.participants = new Map();
    this.order = 0;
    this.lastSeq = restored?.lastSeq ?? 0;
    /** Entries up to here were handled by this page before it reloaded (its keys are new: they are skipped). */
    this.floorSeq = this.lastSeq;
    this.startedPairs = false;
    this.held = null; // live messages waiting for a Resume's answer (see hold())
    this.ended = null;
    this.left = false;
    this.unacked = 0;
    this.ackTimer = null;
    this.inbox = Promise.resolve();
    /** Sends that encrypt go out one at a time, in the order they were encrypted (a pair's counter must only grow). */
    this.outbox = Promise.resolve();
    /** Handlers of entry kinds the room does not decrypt itself (files: client/room-files.js), by kind. */
    this.kindHandlers = new Map();
    this.e2e = new RoomE2E({ roomId, myId: participantId, entropy });
    this.e2e.addEventListener('pair', (e) => this.emit('pair', { ...e.detail, name: this.nameOf(e.detail.peerId) }));
    this.wire();
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  /** A participant's display name, or "Participant N" (N: the order of joining as this page saw it). */
  nameOf(participantId) {
    const p = this.participants.get(participantId);
    if (!p) return 'Someone who left';
    return p.displayName || `Participant ${p.number}`;
  }

  /** The other participants present now. */
  get peers() { return [...this.participants.values()].filter((p) => p.present && p.participantId !== this.participantId).map((p) => p.participantId); }

  upsert({ participantId, displayName, joinedAt, at }) {
    let p = this.participants.get(participantId);
    if (!p) {
      p = { participantId, displayName: displayName || null, joinedAt: joinedAt ?? at ?? null, number: 0, present: true };
      this.participants.set(participantId, p);
    } else {
      if (displayName) p.displayName = displayName;
      p.present = true;
    }
    return p;
  }

  /** Numbers the participants in the order they joined (those already numbered keep theirs). */
  number() {
    const unnumbered = [...this.participants.values()].filter((p) => !p.number)
      .sort((a, b) => String(a.joinedAt ?? '').localeCompare(String(b.joinedAt ?? '')) || a.participantId.localeCompare(b.participantId));
    for (const p of unnumbered) p.number = ++this.order;
  }

  wire() {
    const h = this.hub;
    h.on('RoomJoined', (e) => this.onRoomJoined(e));
    h.on('ParticipantJoined', (e) => {
      this.upsert(e);
      this.number();
      this.emit('participant-joined', { participantId: e.participantId, name: this.nameOf(e.participantId), at: e.at });
      this.emit('participants', { participants: this.list() });
    });
    h.on('ParticipantLeft', (e) => {
      if (e.participantId === this.participantId) return; // this participant's own leave (its page says so itself)
      const p = this.participants.get(e.participantId);
      if (p) p.present = false;
      this.e2e.remove(e.participantId);
      this.emit('participant-left', { participantId: e.participantId, name: this.nameOf(e.participantId), at: e.at });
      this.emit('participants', { participants: this.list() });
    });
    h.on('PublicKeysUpdated', (e) => {
      for (const p of e.participants ?? []) this.upsert(p);
      this.number();
      this.emit('participants', { participants: this.list() });
    });
    h.on('Message', (m) => (this.held ? this.held.push(m) : this.enqueue([m])));
    h.on('MessageSent', (e) => this.emit('sent', e));
    h.on('Typing', (e) => this.emit('typing', { participantId: e.participantId, name: this.nameOf(e.participantId), at: e.at }));
    h.on('RoomEnded', (e) => this.end(e?.reason ?? 'ended'));
    h.onreconnecting(() => {
      if (this.ended || this.left) return;
      this.hold();
      this.emit('connection', { state: 'reconnecting' });
    });
    h.onreconnected(async () => {
      if (this.ended) return;
      this.emit('connection', { state: 'online' });
      await this.resume();
    });
  }

  list() {
    return [...this.participants.values()].map((p) => ({
      participantId: p.participantId, name: this.nameOf(p.participantId), displayName: p.displayName, present: p.present,
      me: p.participantId === this.participantId, checkCode: this.e2e.checkCode(p.participantId),
    }));
  }

  onRoomJoined(e) {
    for (const p of this.participants.values()) p.present = false;
    for (const p of e.participants ?? []) this.upsert(p);
    this.number();
    this.emit('joined', { participants: this.list() });
    this.emit('participants', { participants: this.list() });
    const history = e.history ?? [];
    // The first RoomJoined of this page: entries from before (key messages of sessions this page no longer has, and
    // messages under those keys) are not for the fresh keys; then every pair starts over.
    const first = !this.startedPairs;
    this.startedPairs = true;
    if (first) {
      this.inbox = this.inbox.then(() => this.handleStale(history)).then(() => this.startPairs());
    } else {
      this.enqueue(history);
    }
  }

  /** History of a (re)loaded page: text it cannot decrypt any more is counted; key messages are dropped (the fresh
   * exchange replaces them). */
  async handleStale(history) {
    let unreadable = 0;
    for (const m of history) {
      if (m.seq <= this.lastSeq) continue;
      this.lastSeq = m.seq;
      if (!['key', 'file', 'file-chunk'].includes(m.kind)) unreadable++; // file transfers of the old keys end visibly
    }
    if (unreadable > 0) this.emit('undecryptable', { count: unreadable, reason: 'reloaded' });
    this.ack();
  }

  /** This page's keys are new: start the exchange with every other participant (a `commit` from the pair's initiator,
   * a `restart` from its responder, which asks the initiator for a `commit`). */
  async startPairs() {
    for (const peerId of this.peers) {
      try {
        const message = await this.e2e.start(peerId);
        await this.sendKey(peerId, message);
      } catch (e) {
        this.emit('problem', { what: 'key', code: hubErrorCode(e) ?? 'failed', participantId: peerId });
      }
    }
  }

  /** Sends a key-exchange message to one participant; refused for now (`rate_limited`: that participant's window is
   * full, e.g. of file chunks; `storage_unavailable`), it is sent again like any message (about 8 s). */
  sendKey(peerId, message) {
    return this.relay('key', { [peerId]: JSON.stringify(message) }, { retry: sendBackoff });
  }

  /** Handles entries in order, one at a time, each seq once. */
  enqueue(entries) {
    const sorted = [...entries].sort((a, b) => a.seq - b.seq);
    this.inbox = this.inbox.then(async () => {
      for (const m of sorted) {
        if (m.seq <= this.lastSeq) continue;
        this.lastSeq = m.seq;
        await this.handle(m);
        this.ack();
      }
    }).catch(() => {});
    return this.inbox;
  }

  async handle(m) {
    if (!this.participants.has(m.from)) {
      this.upsert({ participantId: m.from, at: m.at });
      this.number();
    }
    if (m.kind === 'key') {
      let data;
      try { data = JSON.parse(m.ciphertext); } catch { data = null; }
      try {
        const { reply } = await this.e2e.receiveKey(m.from, data);
        if (reply) await this.sendKey(m.from, reply);
      } catch (e) {
        // A refused key message (replayed, reflected, out of turn) changes nothing; a failed commitment is shown.
        this.emit('problem', { what: 'key', code: e instanceof E2EError ? e.reason : (hubErrorCode(e) ?? 'failed'), participantId: m.from });
      }
      return;
    }
    const handler = this.kindHandlers.get(m.kind);
    if (handler) {
      try {
        await handler(m);
      } catch (e) {
        this.emit('undecryptable', { count: 1, seq: m.seq, from: m.from, name: this.nameOf(m.from), reason: e instanceof E2EError ? e.reason : 'failed' });
      }
      return;
    }
    try {
      const { body, missed } = await this.e2e.decryptFrom(m.from, m.kind, m.ciphertext);
      this.emit('message', { seq: m.seq, from: m.from, name: this.nameOf(m.from), kind: m.kind, body, at: m.at, missed });
    } catch (e) {
      this.emit('undecryptable', { count: 1, seq: m.seq, from: m.from, name: this.nameOf(m.from), reason: e instanceof E2EError ? e.reason : 'failed' });
    }
  }

  /** Acknowledges what arrived (every 16 entries, or 250 ms after the last one). */
  ack() {
    this.unacked++;
    if (this.unacked >= 16) this.sendAck();
    else if (!this.ackTimer) this.ackTimer = setTimeout(() => this.sendAck(), 250);
  }

  sendAck() {
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.unacked = 0;
    if (this.lastSeq > 0 && !this.ended && this.hub.state === 'Connected') this.hub.send('Ack', this.lastSeq).catch(() => {});
  }

  /** From a reconnect on, live messages wait for Resume's answer (`held`): one that overtook what was missed would move
   * `lastSeq` past it, and the missed entries would be dropped as seen. */
  hold() {
    if (this.startedPairs) this.held ??= [];
  }

  /** Asks for what this participant missed (after a reconnect), then handles it with the held live messages, in seq
   * order. */
  async resume() {
    try {
      const entries = await this.hub.invoke('Resume', this.lastSeq);
      await this.release(entries ?? []);
    } catch (e) {
      // Refused by the server: the held messages go on. Lost with the connection: the next reconnect tries again.
      if (hubErrorCode(e)) await this.release([]);
    }
  }

  release(entries) {
    const held = this.held ?? [];
    this.held = null;
    return this.enqueue([...entries, ...held]);
  }

  /** Entries of `kind` go to `handler(entry)` (awaited, in order with every other entry) instead of being decrypted and
   * emitted as `message`: for kinds that carry something else than one E2E ciphertext (file chunks). */
  handleKind(kind, handler) { this.kindHandlers.set(kind, handler); }

  /** Runs `operation` after every send queued before it (encrypted sends must reach the hub in counter order). */
  queueSend(operation) {
    const run = this.outbox.then(operation, operation);
    this.outbox = run.catch(() => {});
    return run;
  }

  /** Sends a message of `kind` (default text) to every present participant with agreed keys: `{seq, to, skipped}`
   * (`skipped`: participants without keys yet, who get nothing). A send the hub refuses for now (`rate_limited`: a
   * recipient's window is full; `storage_unavailable`) is tried again, the same ciphertexts, for about 8 seconds, so a
   * burst spends no E2E counter the others would see as a missing message. Throws when nobody can receive it, or the
   * hub still refuses it (ApiError-like `code`: too_large, rate_limited, …). */
  send(body, kind = 'text') {
    return this.queueSend(async () => {
      const peers = this.peers;
      const { ciphertexts, skipped } = await this.e2e.encryptFor(peers, kind, body);
      const to = Object.keys(ciphertexts);
      if (to.length === 0) {
        const error = new Error(peers.length === 0 ? 'Nobody else is in the room.' : 'Encryption is not set up with anybody yet.');
        error.code = peers.length === 0 ? 'alone' : 'no_keys';
        throw error;
      }
      const result = await this.relay(kind, ciphertexts, { retry: sendBackoff });
      return { seq: result?.seq, at: result?.at, to, skipped };
    });
  }

  /** Relays `ciphertexts` (participant id → text, already encrypted by the caller) as one `Send` of `kind`: `{seq, at}`.
   * With `retry` (a function of the attempt number and the error's code giving a delay in ms, or null to give up), a
   * refused send (e.g. `rate_limited`: a recipient's window or the history is full) is tried again, the same message. */
  async relay(kind, ciphertexts, { retry } = {}) {
    const message = { clientMessageId: newId(), kind, ciphertexts };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.hub.invoke('Send', message);
      } catch (e) {
        const wait = this.ended ? null : retry?.(attempt, hubErrorCode(e) ?? 'failed');
        if (wait === null || wait === undefined) throw e;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  sendText(text) { return this.send(String(text), 'text'); }

  /** Tells the others that this participant is typing (not stored, not encrypted). */
  typing() {
    if (this.hub.state === 'Connected') this.hub.send('Typing').catch(() => {});
  }

  /** Leaves the room for good: the token stops working. */
  async leave() {
    if (this.left) return;
    this.left = true;
    try {
      if (this.hub.state === 'Connected') await this.hub.invoke('Leave');
      else await leaveRoomRequest(this.api, this.roomId, this.participantToken);
    } catch { /* already gone */ }
    this.end('left');
  }

  end(reason) {
    if (this.ended) return;
    this.ended = reason;
    clearTimeout(this.ackTimer);
    this.emit('ended', { reason });
    setTimeout(() => this.hub.stop().catch(() => {}), 0);
  }

  /** Connects, and connects again after the connection closed for good (SignalR's own reconnects gave up), every
   * `delayMs`, until the room ends. */
  async connect({ delayMs = 3000 } = {}) {
    if (!this.closeHandled) {
      this.closeHandled = true;
      this.hub.onclose(() => {
        if (this.ended || this.left) return;
        this.hold();
        this.emit('connection', { state: 'reconnecting' });
        setTimeout(() => this.connectLoop(delayMs).catch(() => {}), delayMs);
      });
    }
    return this.connectLoop(delayMs);
  }

  async connectLoop(delayMs) {
    while (!this.ended && this.hub.state === 'Disconnected') {
      try {
        await this.hub.start();
      } catch (e) {
        if (this.ticketRefused(e)) return;
        this.emit('connection', { state: 'reconnecting' });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        continue;
      }
      this.emit('connection', { state: 'online' });
      if (this.startedPairs) await this.resume();
      return;
    }
  }

  /** A 401 for the hub ticket: the room ended (or this participant left elsewhere). */
  ticketRefused(e) {
    const status = e?.status ?? this.lastTicketError?.status;
    if (status === 401 || status === 404) {
      this.end('unavailable');
      return true;
    }
    return false;
  }
}

/**
 * Joins a room (or rejoins with `participantToken` after a reload) and connects its hub: resolves with the `Room` once
 * connected. `on`: event listeners by type, added before anything can happen.
 */
export async function joinRoom({ api, signalR, createHub, baseUrl = '', link, displayName, participantToken, restored, on, entropy } = {}) {
  const joined = await joinRoomRequest(api, link, { displayName, participantToken });
  let room;
  const accessTokenFactory = async () => {
    try {
      return await api.hubTicket(joined.participantToken);
    } catch (e) {
      if (room) {
        room.lastTicketError = e;
        // The token no longer works: the room ended (or this participant left elsewhere). Stop retrying.
        if (e?.status === 401 || e?.status === 404) room.end('unavailable');
      }
      throw e;
    }
  };
  const hub = createHub
    ? createHub(accessTokenFactory)
    : createHubConnection({ signalR, baseUrl, hubPath: '/hubs/rooms', accessTokenFactory });
  room = new Room({ hub, api, ...joined, restored, entropy });
  for (const [type, listener] of Object.entries(on ?? {})) room.addEventListener(type, listener);
  await room.connect();
  return room;
}
