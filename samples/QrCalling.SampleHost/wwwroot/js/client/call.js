// One call on either side, without any DOM: WebRTC media (caller offers, owner answers), signaling through the hub,
// end-to-end encrypted chat (E2E v1, docs/e2e.md), acknowledgements, and Resume(callId, lastSeq) with seq
// de-duplication after the hub reconnects or a page reloads. A page renders from the events this class dispatches.
//
// Web-app conventions on top of the wire contract (the server relays `data` unchanged):
// - offer, answer and ice-candidate data carry `pcId`, the id of the caller's RTCPeerConnection they belong to. A caller
//   that reloads makes a new one; the owner then answers with a fresh connection and both ignore signals of old ones.
// - `renegotiate` with data {media: 'off', reason} says "no voice or video from me on this call, carry on in chat"
//   (reason 'declined': the user refused a direct connection; 'unavailable': no microphone or camera);
//   `renegotiate` {rejoin: true} (owner after a reload) asks the caller for a new RTCPeerConnection and offer.
// - `file` (additive) carries end-to-end encrypted file frames (Files v1, client/files.js); with voice or video, chunks
//   go peer to peer over the negotiated data channel `qrcalling-files` (id 0) once it is open.
import { hubErrorCode } from './rest.js';
import { hasTurn, icePolicy, sanitizeCandidate, sanitizeSdp } from './ice.js';
import { E2EError, E2ESession, certificateFingerprint, fingerprintFromSdp } from './e2e.js';
import { CONTROL_PREFIX, FileTransfers } from './files.js';

const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');

/** The microphone or camera could not be used; `kind` is 'unsupported', 'denied', 'missing', 'busy' or 'failed' and the
 * message says in words what to do. */
export class MediaProblem extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'MediaProblem';
    this.kind = kind;
  }
}

/** Asks for the microphone (and camera for video). Throws a MediaProblem. */
export async function acquireMedia(media) {
  if (!globalThis.navigator?.mediaDevices?.getUserMedia) {
    throw new MediaProblem('unsupported', 'This browser cannot use a microphone here (calls need a secure https:// page).');
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: media === 'video' });
  } catch (e) {
    const what = media === 'video' ? 'microphone and camera' : 'microphone';
    switch (e?.name) {
      case 'NotAllowedError':
      case 'SecurityError':
        throw new MediaProblem('denied', `Your browser blocked the ${what}. Allow ${media === 'video' ? 'them' : 'it'} for this site (in the address bar or the site settings) and try again, or continue in chat.`);
      case 'NotFoundError':
      case 'OverconstrainedError':
        throw new MediaProblem('missing', `No ${what} was found on this device. Continue in chat, or connect one and try again.`);
      case 'NotReadableError':
      case 'AbortError':
        throw new MediaProblem('busy', `The ${what} is in use by another app. Close it and try again, or continue in chat.`);
      default:
        throw new MediaProblem('failed', `Could not start the ${what}. Try again, or continue in chat.`);
    }
  }
}

/**
 * One call. Events (CustomEvent, details in qrcalling-client.d.ts): statechange, accepted, ended, chat, chatproblem,
 * typing, e2e, mediaoff, mediaproblem, mediasetup, localstream, remotetrack, warning, refused, peer, connection, entry.
 */
export class Call extends EventTarget {
  /** @param {import('../qrcalling-client').CallOptions} o */
  constructor(o) {
    super();
    this.hub = o.hub;
    this.callId = o.callId;
    this.myId = o.myId;
    this.role = o.role;
    this.media = o.media;
    this.label = o.label ?? '';
    this.chatAllowed = o.chatAllowed !== false;
    this.iceServers = o.iceServers ?? (async () => []);
    this.freshIceServers = o.freshIceServers ?? null;
    this.askDirectHook = o.askDirect ?? null;
    this.persist = o.persist ?? null;
    this.forceRelay = o.forceRelay === true;
    this.state = 'starting';
    const restored = o.restored ?? {};
    this.restored = o.restored ?? null;
    this.lastSeq = restored.lastSeq ?? 0;
    this.floorSeq = this.lastSeq; // entries up to here were handled before a reload
    this.seen = new Set();
    this.held = null; // live entries waiting for a Resume's answer, to go on in seq order (see resume())
    this.heldTasks = null; // what waits for them (see afterHeld())
    this.pc = null;
    this.pcId = null; // the caller's RTCPeerConnection id of the current negotiation (both sides)
    this.localStream = o.localStream ?? null;
    this.pendingCandidates = [];
    this.pendingOffer = null;
    this.mediaReady = false;
    this.policy = null;
    this.direct = restored.direct; // the user's answer to the direct-connection question on this call
    this.mediaOff = restored.mediaOff ?? null;
    this.ended = false;
    this.endReason = null;
    this.accepted = false;
    this.withMedia = this.media !== 'chat';
    this.checkCode = null; // the check code last announced: a new one is announced as changed, never swapped silently
    this.startedAt = null;
    this.unacked = 0;
    this.ackTimer = null;
    // Made up front: the other side's key-exchange message may arrive (early, from the mailbox) before we send ours.
    this.e2e = null;
    this.e2eReady = this.makeE2E();
    this.queue = Promise.resolve();
    // End-to-end encrypted files (docs/e2e.md "Files"): control messages under the chat's keys, chunks relayed or direct.
    this.files = new FileTransfers({
      encrypt: (text) => {
        if (!this.e2e?.established || this.ended) throw new Error('invalid_state: the chat is not encrypted yet.');
        // Not while the hub is away: the message could not go out, and its counter would show as a missed message.
        if (this.hub.state && this.hub.state !== 'Connected') throw new Error('offline: the connection is lost.');
        return this.e2e.encrypt(text);
      },
      decrypt: async (ciphertext) => {
        if (!this.e2e?.established) throw new E2EError('no-session', 'No keys are agreed yet.');
        const { text, missed } = await this.e2e.decrypt(ciphertext);
        if (missed > 0) this.emit('chatproblem', { kind: 'missed', count: missed });
        return text;
      },
      send: (frame) => this.signal('file', frame),
      maxBytes: o.maxFileBytes,
      window: o.fileWindow,
    });
    this.filesDirect = o.filesDirect !== false;
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(state) {
    if (this.ended && state !== 'ended') return;
    if (state === 'active' && !this.startedAt) {
      // A rejoin after a reload counts from when the call was answered, not from the reload.
      this.startedAt = Math.min(Date.parse(this.restored?.answeredAt ?? '') || Date.now(), Date.now());
    }
    if (this.state === state) return;
    this.state = state;
    this.emit('statechange', { state });
  }

  /** The chat works once both keys are in; voice and video as the media allow. */
  activeIfReady() {
    if (this.ended || !this.accepted) return;
    if (!this.withMedia || this.mediaOff) this.setState('active');
    else if (this.pc?.connectionState === 'connected') this.setState('active');
    else if (this.state !== 'active' && this.state !== 'rejoining') this.setState('connecting');
  }

  // ---- start ----
  /** The E2E session (docs/e2e.md): the caller is the initiator. A call with voice or video makes its DTLS certificate
   *  first, so that its fingerprint travels in the key exchange and the check code covers it. */
  async makeE2E() {
    let localFingerprint = '';
    if (this.withMedia && typeof globalThis.RTCPeerConnection?.generateCertificate === 'function') {
      try {
        this.certificate = await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256' });
        localFingerprint = certificateFingerprint(this.certificate);
      } catch (e) {
        console.warn('no DTLS certificate', e);
      }
    }
    this.e2e = new E2ESession({ role: this.role === 'caller' ? 'initiator' : 'responder', contextId: this.callId, localFingerprint });
    return this.e2e;
  }

  /** Caller: key exchange, then (while it rings) voice/video: early offer, after consent when there is no TURN. */
  async startAsCaller({ accepted = false } = {}) {
    this.setState('ringing');
    if (accepted) this.markAccepted();
    await this.sendKeyExchange();
    if (this.withMedia && !this.mediaOff) this.setUpMedia().catch((e) => this.mediaFailed(e));
  }

  /** Owner, after Accept: the caller's commitment waits in the mailbox and our key answers it; voice/video after
   *  consent (no TURN) and the microphone; the offer arrives through Signal (or Resume). */
  async startAsOwner() {
    this.markAccepted();
    await this.e2eReady;
    if (this.withMedia && !this.mediaOff) this.setUpMedia().catch((e) => this.mediaFailed(e));
  }

  /** Owner, after a reload of its page mid-call (the same device): a new chat key, what was missed since the saved seq
   *  (Resume also marks this device present again), then, for voice or video, `renegotiate` {rejoin: true}. */
  async rejoinAsOwner() {
    this.setState('rejoining');
    this.accepted = true;
    await this.sendKeyExchange();
    await this.resume();
    if (this.withMedia && !this.mediaOff) {
      this.setUpMedia().catch((e) => this.mediaFailed(e));
      await this.signal('renegotiate', { rejoin: true });
    } else {
      this.setState('active');
    }
  }

  /** Caller: the owner's page reloaded and has no connection any more: a new RTCPeerConnection and a new offer. */
  async reconnectMedia() {
    if (!this.mediaReady || this.mediaOff || this.ended) return;
    if (this.freshIceServers && hasTurn(this.iceServerList)) {
      const fresh = await this.freshIceServers().catch(() => null);
      if (hasTurn(fresh)) this.iceServerList = fresh;
    }
    await this.ensurePeerConnection(true);
    await this.sendOffer();
  }

  markAccepted() {
    const first = !this.accepted;
    this.accepted = true;
    if (first) this.emit('accepted');
    this.activeIfReady();
  }

  /** Decides whether this side may set up voice/video on this call: always with a relay; otherwise the user's answer. */
  async mediaAllowed() {
    this.policy ??= icePolicy(await this.iceList(), this.forceRelay);
    if (this.policy === 'relay') return true;
    // Media may have been turned off meanwhile (the other side's "no" waited in the mailbox): no question then.
    if (this.mediaOff || this.ended) return false;
    if (this.direct === undefined) {
      this.direct = await this.askDirect();
      this.save();
    }
    return this.direct;
  }

  /** The ICE servers, fetched once per call. */
  async iceList() {
    this.iceServerList ??= (await this.iceServers()) ?? [];
    return this.iceServerList;
  }

  /** Asks the app (the `askDirect` option) whether to connect directly; no hook means no. Settles with false at once
   *  when media is turned off or the call ends meanwhile. */
  askDirect() {
    return new Promise((resolve) => {
      this.answerDirect = (yes) => {
        if (!this.answerDirect) return;
        this.answerDirect = null;
        resolve(yes === true);
      };
      Promise.resolve(this.askDirectHook ? this.askDirectHook(this) : false)
        .then((yes) => this.answerDirect?.(yes), () => this.answerDirect?.(false));
    });
  }

  async setUpMedia() {
    const allowed = await this.mediaAllowed();
    if (this.ended || this.mediaOff) return;
    if (!allowed) { await this.turnMediaOff('declined-here'); return; }
    this.emit('mediasetup', { relayOnly: this.policy === 'relay' });
    if (!this.localStream) {
      try {
        this.localStream = await acquireMedia(this.media);
      } catch (e) {
        this.emit('mediaproblem', { problem: e });
        return;
      }
      if (this.ended) { this.stopLocal(); return; }
      this.emit('localstream', { stream: this.localStream });
    }
    this.mediaReady = true;
    if (this.role === 'caller') {
      await this.ensurePeerConnection(true);
      await this.sendOffer();
    } else if (this.pendingOffer && this.e2e?.established) {
      const offer = this.pendingOffer;
      this.pendingOffer = null;
      await this.enqueueTask(() => this.answerOffer(offer));
    }
  }

  /** After a `mediaproblem`: asks for the microphone/camera again and carries on. */
  async retryMedia() {
    try {
      this.localStream = await acquireMedia(this.media);
      this.emit('localstream', { stream: this.localStream });
      await this.setUpMedia();
    } catch (e) {
      if (e instanceof MediaProblem) this.emit('mediaproblem', { problem: e });
      else this.mediaFailed(e);
    }
  }

  /** Carries on without voice or video (the other side is told; the chat stays). */
  continueWithoutMedia() {
    return this.turnMediaOff('unavailable-here');
  }

  mediaFailed(e) {
    console.warn('media set-up failed', e);
    if (!this.ended) this.emit('warning', { kind: 'media-failed', error: e });
  }

  stopLocal() {
    this.localStream?.getTracks().forEach((t) => t.stop());
    this.localStream = null;
  }

  /** No voice or video on this call (from either side): close the media, keep the chat. */
  async turnMediaOff(reason) {
    if (this.mediaOff || this.ended) return;
    this.mediaOff = reason;
    this.save();
    this.answerDirect?.(false);
    this.pc?.close();
    this.pc = null;
    this.stopLocal();
    this.pendingOffer = null;
    this.emit('mediaoff', { reason });
    if (reason.endsWith('-here')) {
      await this.signal('renegotiate', { media: 'off', reason: reason === 'declined-here' ? 'declined' : 'unavailable' }).catch(() => {});
    }
    this.activeIfReady();
  }

  async ensurePeerConnection(fresh = false) {
    if (this.pc && !fresh) return this.pc;
    this.pc?.close();
    const iceServers = await this.iceList();
    await this.e2eReady;
    this.policy ??= icePolicy(iceServers, this.forceRelay);
    const relayOnly = this.policy === 'relay';
    // The certificate whose fingerprint went into the key exchange (and the check code).
    const certificates = this.certificate ? [this.certificate] : undefined;
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all', certificates });
    this.pc = pc;
    if (this.role === 'caller') this.pcId = newId();
    const pcId = this.pcId;
    pc.onicecandidate = (e) => {
      if (!e.candidate || pc !== this.pc) return;
      const safe = sanitizeCandidate(e.candidate.toJSON(), relayOnly);
      if (safe) this.signal('ice-candidate', { ...safe, pcId }).catch(() => {});
    };
    pc.ontrack = (e) => { if (pc === this.pc) this.emit('remotetrack', { track: e.track, streams: e.streams }); };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc || this.ended) return;
      if (pc.connectionState === 'connected') this.setState('active');
      else if (pc.connectionState === 'disconnected' && this.state === 'active') this.setState('reconnecting');
      if (pc.connectionState === 'failed' && this.role === 'caller') this.restartIce();
    };
    for (const track of this.localStream?.getTracks() ?? []) pc.addTrack(track, this.localStream);
    if (this.filesDirect) {
      // Made by both sides before the offer/answer (negotiated): file chunks peer to peer, DTLS under the agreed fingerprints.
      const channel = pc.createDataChannel('qrcalling-files', { negotiated: true, id: 0, ordered: true });
      channel.onopen = () => { if (pc === this.pc && !this.ended) this.files.useChannel(channel); };
    }
    return pc;
  }

  async sendOffer(options) {
    const pc = this.pc;
    const offer = await pc.createOffer(options);
    await pc.setLocalDescription(offer);
    await this.signal('offer', { type: offer.type, sdp: sanitizeSdp(offer.sdp, this.policy === 'relay'), pcId: this.pcId });
  }

  /** Caller: an ICE restart (fresh TURN credentials first when there is TURN). */
  async restartIce() {
    try {
      await this.refreshIceServers();
      await this.sendOffer({ iceRestart: true });
    } catch (e) { console.warn('ICE restart failed', e); }
  }

  /** Before new allocations (an ICE restart): TURN credentials live minutes, so take fresh ones when there is TURN. */
  async refreshIceServers() {
    if (!this.pc || !this.freshIceServers || !hasTurn(this.iceServerList)) return;
    try {
      const iceServers = await this.freshIceServers();
      if (!hasTurn(iceServers) || !this.pc) return;
      this.iceServerList = iceServers;
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (e) {
      console.warn('could not refresh the ICE servers', e);
    }
  }

  /** Owner: answers the caller's offer; an offer of a new caller connection (its page reloaded) gets a fresh one. */
  async answerOffer(data) {
    if (!this.sdpMatchesKeys(data?.sdp)) return;
    const pcId = data?.pcId ?? null;
    const fresh = !this.pc || (pcId !== null && pcId !== this.pcId);
    if (!fresh && /\r\na=ice-ufrag:/.test(data.sdp ?? '') && this.pc.remoteDescription
        && data.sdp.match(/a=ice-ufrag:(\S+)/)?.[1] !== this.pc.remoteDescription.sdp.match(/a=ice-ufrag:(\S+)/)?.[1]) {
      await this.refreshIceServers(); // the caller restarts ICE: this side gathers anew too
    }
    this.pcId = pcId;
    if (fresh) this.pendingCandidates = this.pendingCandidates.filter((c) => c.pcId === pcId);
    const pc = await this.ensurePeerConnection(fresh);
    await pc.setRemoteDescription({ type: data.type, sdp: data.sdp });
    await this.flushCandidates();
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await this.signal('answer', { type: answer.type, sdp: sanitizeSdp(answer.sdp, this.policy === 'relay'), pcId });
  }

  /** Sends a signal; `mailbox_full` (the other side has not caught up yet) is back-pressure: wait and send again
   *  (every 250 ms, up to 20 times). Resolves with the seq the server gave. */
  async signal(type, data) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.hub.invoke('Signal', this.callId, type, data);
      } catch (e) {
        if (attempt >= 20 || hubErrorCode(e) !== 'mailbox_full') throw e;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  // ---- incoming events (kept in order through one promise chain) ----
  /** Hands a hub event (`kind` 'signal' or 'chat') or a mailbox entry to the call; events are processed in order. */
  enqueue(kind, evt) {
    if (this.held && typeof evt?.seq === 'number') {
      this.held.push([kind, evt]); // a Resume is on its way: see resume()
      return this.queue;
    }
    return this.enqueueTask(() => this.process(kind, evt));
  }

  enqueueTask(task) {
    this.queue = this.queue.then(task).catch((e) => console.warn('call event failed', e));
    return this.queue;
  }

  async process(kind, evt) {
    if (this.ended) return;
    if (typeof evt.seq === 'number') {
      // Already seen: Resume may repeat what also arrived live, and a reloaded page handled everything up to floorSeq.
      if (this.seen.has(evt.seq) || evt.seq <= this.floorSeq) return;
      this.seen.add(evt.seq);
      this.lastSeq = Math.max(this.lastSeq, evt.seq);
      this.noteReceived();
      this.save();
    }
    if (evt.from && evt.from === this.myId) return;
    this.emit('entry', { kind, type: evt.type, seq: evt.seq });
    if (kind === 'chat') return this.receiveChat(evt.ciphertext);
    const data = evt.data;
    const stale = data?.pcId !== undefined && this.pcId !== null && data.pcId !== this.pcId;
    switch (evt.type) {
      case 'offer':
        if (this.role !== 'owner' || this.mediaOff) break;
        // Answered once the microphone is ready and the keys (with the caller's DTLS fingerprint) are agreed.
        if (!this.mediaReady || !this.e2e?.established) { this.pendingOffer = data; break; }
        await this.answerOffer(data);
        break;
      case 'answer':
        if (stale || !this.pc || this.pc.signalingState !== 'have-local-offer') break;
        if (!this.sdpMatchesKeys(data.sdp)) break;
        await this.pc.setRemoteDescription({ type: data.type, sdp: data.sdp });
        await this.flushCandidates();
        break;
      case 'ice-candidate': {
        if (this.mediaOff) break;
        if (this.role === 'caller' && stale) break;
        const { pcId, ...candidate } = data ?? {};
        if (this.role === 'owner' && pcId !== undefined && this.pc && pcId !== this.pcId) {
          // A candidate for a connection not answered yet (its offer waits for consent) or an old one.
          if (this.pendingOffer?.pcId === pcId) this.pendingCandidates.push({ pcId, candidate });
          break;
        }
        if (this.pc?.remoteDescription) await this.addCandidate(candidate);
        else this.pendingCandidates.push({ pcId, candidate });
        break;
      }
      case 'key-exchange':
        await this.receiveKeyExchange(data);
        break;
      case 'file':
        await this.files.receiveFrame(data);
        break;
      case 'renegotiate':
        if (data?.media === 'off') await this.turnMediaOff(data.reason === 'unavailable' ? 'unavailable-there' : 'declined-there');
        else if (data?.rejoin === true) { if (this.role === 'caller') await this.reconnectMedia(); }
        else if (this.role === 'caller' && this.pc) await this.restartIce();
        break;
      case 'chat':
        await this.receiveChat(typeof data === 'string' ? data : data?.ciphertext);
        break;
      case 'call-accepted':
        this.markAccepted();
        break;
      case 'call-ended':
        this.end(data?.reason ?? 'ended');
        break;
      default:
        break;
    }
  }

  /** Acknowledges what arrived (every 16 entries, or 250 ms after the last one), so the server trims this side's
   *  mailbox window and the other side may keep sending. Fire and forget. */
  noteReceived() {
    this.unacked += 1;
    if (this.unacked >= 16) this.sendAck();
    else if (!this.ackTimer) this.ackTimer = setTimeout(() => this.sendAck(), 250);
  }

  sendAck() {
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.unacked = 0;
    if (this.ended || this.lastSeq <= 0) return;
    this.hub.send('Ack', this.callId, this.lastSeq).catch(() => {});
  }

  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (e) {
      console.warn('ignored a candidate', e?.message);
    }
  }

  async flushCandidates() {
    const pending = this.pendingCandidates.splice(0);
    for (const { pcId, candidate } of pending) {
      if (pcId === undefined || this.pcId === null || pcId === this.pcId) await this.addCandidate(candidate);
    }
  }

  /** After the hub (re)connected: fetch what was missed (everything after the last seq seen, or from the start). Live
   *  entries that arrive before the answer wait for it (`held`), then everything is handled in seq order: a chunk or a
   *  candidate sent after the reconnect must not overtake the ones missed before it. Repeats are dropped by seq. */
  async resume(fromStart = false) {
    if (this.ended) return;
    this.held ??= [];
    let events;
    try {
      events = await this.hub.invoke('Resume', this.callId, fromStart ? 0 : this.lastSeq);
    } catch (e) {
      // Refused by the server (the connection is up): what was held goes on in order. Lost with the connection: it stays
      // held for the next reconnect's Resume.
      if (hubErrorCode(e)) this.release([]);
      throw e;
    }
    this.release((events ?? []).map((e) => (e.type === 'chat' ? ['chat', { seq: e.seq, from: e.from, ciphertext: e.data }] : ['signal', e])));
  }

  /** Hands Resume's entries and the held live ones to the queue, in seq order (a stable sort: a resumed entry before
   *  its live twin, which is then dropped as seen). */
  release(resumed) {
    const held = this.held ?? [];
    const tasks = this.heldTasks ?? [];
    this.held = null;
    this.heldTasks = null;
    for (const [kind, evt] of [...resumed, ...held].sort((a, b) => a[1].seq - b[1].seq)) this.enqueue(kind, evt);
    for (const task of tasks) task();
  }

  /** Runs `task` now, or, while entries are held for a Resume, once they are handed on (a CallEnded that came live
   *  must not end the call before the messages sent ahead of it). */
  afterHeld(task) {
    if (this.held) (this.heldTasks ??= []).push(task);
    else task();
  }

  save() {
    this.persist?.({ lastSeq: this.lastSeq, direct: this.direct, mediaOff: this.mediaOff });
  }

  // ---- chat, end to end encrypted (docs/e2e.md) ----
  /** Caller: a new key exchange (its commitment). Owner after a reload: asks the caller to start a new one. */
  async sendKeyExchange() {
    const session = await this.e2eReady;
    const message = await session.start();
    if (this.role === 'caller') this.emit('e2e', { status: 'pending', reset: this.checkCode !== null });
    await this.signal('key-exchange', message);
  }

  async receiveKeyExchange(data) {
    const session = await this.e2eReady;
    let result;
    try {
      result = await session.receive(data);
    } catch (e) {
      if (!(e instanceof E2EError)) throw e;
      this.emit('refused', { reason: e.reason });
      if (e.reason === 'commit-mismatch') this.emit('e2e', { status: 'failed', reason: e.reason });
      else console.warn('key-exchange message refused:', e.reason);
      return;
    }
    // The reply goes out before the chat opens: it reaches the other side before any message under the new keys.
    if (result.reply) await this.signal('key-exchange', result.reply);
    if (result.established) this.announceCheckCode();
    else this.emit('e2e', { status: 'pending', reset: result.reset === true || this.checkCode !== null });
    if (result.established && this.role === 'owner' && this.pendingOffer && this.mediaReady) {
      const offer = this.pendingOffer; // it waited for the caller's DTLS fingerprint
      this.pendingOffer = null;
      await this.answerOffer(offer);
    }
  }

  announceCheckCode() {
    const session = this.e2e;
    const code = session.checkCode;
    const previous = this.checkCode;
    this.checkCode = code;
    this.emit('e2e', {
      status: 'established', checkCode: code, coversMedia: Boolean(session.localFingerprint && session.peerFingerprint),
      changed: previous !== null && previous !== code, previousCheckCode: previous,
    });
  }

  /** A remote SDP must carry the DTLS fingerprint the key exchange agreed (and the check code covers); another one means
   *  the voice or video would be encrypted to someone else. */
  sdpMatchesKeys(sdp) {
    const session = this.e2e;
    if (session?.established && fingerprintFromSdp(sdp) === session.peerFingerprint) return true;
    this.emit('refused', { reason: 'fingerprint' });
    this.emit('warning', { kind: 'fingerprint-mismatch' });
    return false;
  }

  /** True once the chat keys are agreed. */
  get chatReady() { return Boolean(this.e2e?.established) && !this.ended; }

  /** Encrypts and sends a chat message; resolves once the server took it (its seq). */
  async sendChat(text) {
    if (!this.e2e?.established) throw new Error('invalid_state: the chat is not encrypted yet.');
    const ciphertext = await this.e2e.encrypt(text);
    return this.hub.invoke('Chat', this.callId, ciphertext);
  }

  /** Tells the other side whether this side is typing (relayed, not stored). */
  sendTyping(isTyping) {
    return this.hub.invoke('Typing', this.callId, isTyping === true).catch(() => {});
  }

  async receiveChat(ciphertext) {
    this.emit('typing', { isTyping: false });
    if (!this.e2e?.established || typeof ciphertext !== 'string') { this.emit('chatproblem', { kind: 'undecryptable' }); return; }
    try {
      const { text, missed } = await this.e2e.decrypt(ciphertext);
      if (missed > 0) this.emit('chatproblem', { kind: 'missed', count: missed });
      if (text.startsWith(CONTROL_PREFIX)) { this.emit('refused', { reason: 'file-in-chat' }); return; } // moved by the relay
      this.emit('chat', { text });
    } catch (e) {
      if (!(e instanceof E2EError)) throw e;
      this.emit('refused', { reason: e.reason });
      this.emit('chatproblem', { kind: e.reason === 'replay' ? 'replay' : 'undecryptable', reason: e.reason });
    }
  }

  // ---- media controls ----
  /** Mutes or unmutes the microphone (toggles without an argument); returns true when muted. */
  setMuted(muted) {
    const track = this.localStream?.getAudioTracks()[0];
    if (!track) return false;
    track.enabled = muted === undefined ? !track.enabled : !muted;
    return !track.enabled;
  }

  /** Turns the camera off or on (toggles without an argument); returns true when off. */
  setCameraOff(off) {
    const track = this.localStream?.getVideoTracks()[0];
    if (!track) return false;
    track.enabled = off === undefined ? !track.enabled : !off;
    return !track.enabled;
  }

  /** Replaces a local track with one from another device (same kind, same on/off state) in what is sent (no
   *  renegotiation) and in this side's stream. */
  async replaceLocalTrack(current, constraints) {
    const stream = await navigator.mediaDevices.getUserMedia({ [current.kind]: constraints });
    const track = stream.getTracks()[0];
    track.enabled = current.enabled;
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === current.kind);
    await sender?.replaceTrack(track);
    this.localStream.removeTrack(current);
    current.stop();
    this.localStream.addTrack(track);
    return track;
  }

  // ---- hub events ----
  /** The other side's presence (PeerLeft / PeerJoined). */
  peer(present) {
    if (!this.ended) this.emit('peer', { present });
  }

  /** This side's hub connection: 'reconnecting' or 'online' (after which the call resumes; also after a connection
   *  that closed for good was started again). Resolves once the resume is handed to the queue. */
  connection(state) {
    if (this.ended) return Promise.resolve();
    this.emit('connection', { state });
    if (state !== 'online') {
      this.held ??= []; // what comes in right after the reconnect waits for Resume's answer
      return Promise.resolve();
    }
    // After what was missed: file messages lost with the connection are said again.
    return this.resume().then(() => this.enqueueTask(() => this.files.reconnected())).catch((e) => console.warn('resume', e));
  }

  // ---- the end ----
  /** Hangs up (or cancels while ringing). */
  async hangup() {
    // The server's CallEnded may arrive before Hangup returns: it is still this side that hung up.
    this.hangingUp = true;
    try { await this.hub.invoke('Hangup', this.callId); } catch (e) { console.warn('hangup', hubErrorCode(e) ?? e); }
    this.end(this.accepted ? 'hangup' : 'canceled', true);
  }

  /** Ends the call on this side (the server said so, or the app gives up): closes media, dispatches `ended`. */
  end(reason, byMe = false) {
    if (this.ended) return;
    byMe ||= this.hangingUp === true && (reason === 'hangup' || reason === 'canceled');
    this.ended = true;
    this.endReason = reason;
    this.answerDirect?.(false);
    this.pc?.close();
    this.stopLocal();
    this.files.close();
    clearTimeout(this.ackTimer);
    this.setState('ended');
    const durationMs = this.startedAt ? Date.now() - this.startedAt : null;
    this.emit('ended', { reason, byMe, durationMs });
  }
}

/** Wires a hub connection's per-call events to whichever call is current (`currentCall()` may return null). */
export function routeCallEvents(hub, currentCall) {
  const forCall = (handler) => (evt) => {
    const call = currentCall();
    if (call && evt && evt.callId === call.callId) handler(call, evt);
  };
  hub.on('Signal', forCall((c, e) => c.enqueue('signal', e)));
  hub.on('Chat', forCall((c, e) => c.enqueue('chat', e)));
  hub.on('Typing', forCall((c, e) => { if (!c.ended) c.emit('typing', { isTyping: e.isTyping === true }); }));
  hub.on('CallAccepted', forCall((c) => c.markAccepted()));
  hub.on('CallEnded', forCall((c, e) => c.afterHeld(() => { c.queue.then(() => c.end(e.reason)); })));
  hub.on('PeerLeft', forCall((c) => c.peer(false)));
  hub.on('PeerJoined', forCall((c) => c.peer(true)));
  hub.onreconnecting(() => currentCall()?.connection('reconnecting'));
  hub.onreconnected(() => currentCall()?.connection('online'));
}
