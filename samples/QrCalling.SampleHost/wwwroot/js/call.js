// One call on either side: WebRTC media (caller offers, owner answers), signaling through the hub,
// end-to-end encrypted chat (E2E v1, docs/e2e.md, in e2e.js: a commit-then-reveal ECDH P-256 key exchange over Signal
// "key-exchange", AES-GCM per direction, a 6-digit check code over both keys and both DTLS fingerprints),
// and Resume(callId, lastSeq) after the hub reconnects or the caller's page reloads.
//
// Web-app conventions on top of the wire contract (the server relays `data` unchanged):
// - offer, answer and ice-candidate data carry `pcId`, the id of the caller's RTCPeerConnection they belong to. A caller
//   that reloads makes a new one; the owner then answers with a fresh connection and both ignore signals of old ones.
// - `renegotiate` with data {media: 'off', reason} says "no voice or video from me on this call, carry on in chat"
//   (reason 'declined': the user refused a direct connection; 'unavailable': no microphone or camera).
import { $, debugState, describeError, el, hubErrorCode } from './api.js';
import { hasTurn, icePolicy, sanitizeCandidate, sanitizeSdp } from './ice.js';
import { E2EError, E2ESession, certificateFingerprint, fingerprintFromSdp } from './e2e.js';

const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');

export { hasTurn, icePolicy } from './ice.js';

/** The question asked, on each call without a TURN server, before anything could reveal this device's IP address. */
export const DIRECT_QUESTION = 'A direct connection shows your IP address to the other side. Connect directly?';

/** Asks for the microphone (and camera for video). Throws a MediaProblem whose message says, in words, what to do. */
export async function acquireMedia(media) {
  if (!navigator.mediaDevices?.getUserMedia) {
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

export class MediaProblem extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'MediaProblem';
    this.kind = kind;
  }
}

/** What ended a call, from this side's point of view. */
export function endText(reason, role, byMe) {
  switch (reason) {
    case 'hangup': return byMe ? 'You hung up.' : 'The other side hung up.';
    case 'canceled': return role === 'caller' ? (byMe ? 'You hung up.' : 'The call was canceled.') : 'The caller hung up before you answered.';
    case 'rejected': return role === 'caller' ? 'The owner declined the call.' : 'You declined the call.';
    case 'missed': return role === 'caller' ? 'No answer.' : 'You missed this call.';
    case 'timeout': return 'The call reached its maximum length.';
    case 'dropped': return 'The connection was lost.';
    case 'revoked': return 'This code was withdrawn by its owner.';
    case 'elsewhere': return 'Answered on another device.';
    case 'failed': return 'The call could not be set up.';
    default: return 'The call has ended.';
  }
}

const STATE_TEXT = {
  starting: 'Starting…',
  ringing: 'Ringing…',
  connecting: 'Connecting…',
  active: 'Connected',
  reconnecting: 'Reconnecting…',
  rejoining: 'Reconnecting your call…',
  ended: 'Call ended',
};

const MEDIA_OFF_TEXT = {
  'declined-here': 'A private (relay) connection is not available on this server, so this call has no voice or video. You can keep chatting.',
  'declined-there': 'The other side chose not to connect directly, so this call has no voice or video. You can keep chatting.',
  'unavailable-here': 'Continuing without voice or video. You can keep chatting.',
  'unavailable-there': 'The other side has no microphone or camera available. You can keep chatting.',
};

function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export class CallSession {
  /**
   * @param {object} o
   * @param {any} o.hub SignalR connection
   * @param {string} o.callId
   * @param {string} o.myId callerId (caller) or calleeId (owner): my anonymous id in this call
   * @param {'caller'|'owner'} o.role
   * @param {'audio'|'video'|'chat'} o.media
   * @param {string} [o.label] the code's label, for the call's title
   * @param {boolean} [o.chatAllowed] false when the code does not allow chat (the server refuses it: media_not_allowed)
   * @param {() => Promise<RTCIceServer[]>} o.iceServers the call's ICE servers (first use)
   * @param {() => Promise<RTCIceServer[]>} [o.freshIceServers] new ones from GET /ice-servers: TURN credentials are short-lived,
   *   and a new allocation (an ICE restart, a rejoin) needs valid ones
   * @param {MediaStream} [o.localStream] microphone/camera already acquired (the caller asks before it rings anyone)
   * @param {object} [o.restored] a caller rejoining after a reload: {lastSeq, direct, mediaOff}
   * @param {(saved: object) => void} [o.persist] keeps what a reload needs (lastSeq, direct, mediaOff)
   * @param {(reason: string) => void} [o.onEnded]
   * @param {() => void} [o.onCallAgain] shows "Call again" after the end
   * @param {() => void} [o.onClose] "Close" after the end
   */
  constructor(o) {
    Object.assign(this, o);
    this.state = 'starting';
    const restored = o.restored ?? {};
    this.lastSeq = restored.lastSeq ?? 0;
    this.floorSeq = this.lastSeq; // entries up to here were handled before a reload
    this.seen = new Set();
    this.pc = null;
    this.pcId = null; // the caller's RTCPeerConnection id of the current negotiation (both sides)
    this.localStream = o.localStream ?? null;
    this.pendingCandidates = [];
    this.pendingOffer = null;
    this.mediaReady = false;
    this.policy = null;
    this.direct = restored.direct; // the user's answer to DIRECT_QUESTION on this call
    this.mediaOff = restored.mediaOff ?? null;
    this.ended = false;
    this.withMedia = this.media !== 'chat';
    this.shownCode = null; // the check code on screen: a new one is announced, never swapped in silently
    // Made up front: the other side's key-exchange message may arrive (early, from the mailbox) before we send ours.
    this.e2eReady = this.makeE2E();
    this.queue = Promise.resolve();
    this.startedAt = null;
    this.timer = null;
    debugState().session = this;
    this.bindUi();
  }

  // ---- UI ----
  bindUi() {
    const title = { audio: 'Voice call', video: 'Video call', chat: 'Chat' }[this.media] ?? 'Call';
    $('call-title').textContent = this.label ? `${title} · ${this.label}` : title;
    $('call').hidden = false;
    $('call').classList.toggle('video', this.media === 'video');
    $('call-media').hidden = !this.withMedia;
    $('mute').hidden = !this.withMedia;
    $('camera').hidden = this.media !== 'video';
    $('switch-camera').hidden = true;
    $('mute').onclick = () => this.toggleMute();
    $('camera').onclick = () => this.toggleCamera();
    $('switch-camera').onclick = () => this.switchCamera().catch((e) => this.showNote(describeError(e, 'switch the camera')));
    $('devices').hidden = true;
    $('mic-select').onchange = (e) => this.switchMicrophone(e.target.value).catch((err) => this.showNote(describeError(err, 'switch the microphone')));
    $('speaker-select').onchange = (e) => this.switchSpeaker(e.target.value).catch((err) => this.showNote(describeError(err, 'switch the speaker')));
    $('hangup').onclick = () => this.hangup();
    $('call-again').onclick = () => this.onCallAgain?.();
    $('call-close').onclick = () => this.onClose?.();
    $('chat-form').onsubmit = (e) => { e.preventDefault(); this.sendChat(); };
    document.querySelector('#call .chat').hidden = this.chatAllowed === false;
    let typingTimer = null;
    $('chat-input').oninput = () => {
      if (!typingTimer) this.hub.invoke('Typing', this.callId, true).catch(() => {});
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typingTimer = null; this.hub.invoke('Typing', this.callId, false).catch(() => {}); }, 1500);
    };
    if (this.localStream) this.showLocal();
    if (this.mediaOff) this.applyMediaOff();
    this.setState(this.state);
  }

  setState(state) {
    if (this.ended && state !== 'ended') return;
    this.state = state;
    $('call-state').textContent = STATE_TEXT[state] ?? state;
    $('call').dataset.state = state;
    if (state === 'active' && !this.startedAt) this.startTimer();
  }

  startTimer() {
    // A rejoin after a reload counts from when the call was answered (GET /calls/{callId}), not from the reload.
    this.startedAt = Math.min(Date.parse(this.restored?.answeredAt ?? '') || Date.now(), Date.now());
    const timer = $('call-timer');
    timer.hidden = false;
    const tick = () => { timer.textContent = formatDuration(Date.now() - this.startedAt); };
    tick();
    this.timer = setInterval(tick, 1000);
  }

  showNote(text) { $('call-note').textContent = text; }

  /** The chat works once both keys are in; voice and video as the media allow. */
  activeIfReady() {
    if (this.ended || !this.accepted) return;
    if (!this.withMedia || this.mediaOff) this.setState('active');
    else if (this.pc?.connectionState === 'connected') this.setState('active');
    else if (this.state !== 'active' && this.state !== 'rejoining') this.setState('connecting');
  }

  // ---- start ----
  /** The E2E session of this page (docs/e2e.md): the caller is the initiator. A call with voice or video makes its DTLS
   *  certificate first, so that its fingerprint travels in the key exchange and the check code covers it; every
   *  RTCPeerConnection of this page uses that certificate. */
  async makeE2E() {
    let localFingerprint = '';
    if (this.withMedia && typeof RTCPeerConnection?.generateCertificate === 'function') {
      try {
        this.certificate = await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256' });
        localFingerprint = certificateFingerprint(this.certificate);
      } catch (e) {
        console.warn('no DTLS certificate', e);
      }
    }
    this.e2e = new E2ESession({ role: this.role === 'caller' ? 'initiator' : 'responder', contextId: this.callId, localFingerprint });
    debugState().e2e = this.e2e;
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

  /** Owner, after a reload of its page mid-call (the same device, kept in sessionStorage): a new chat key (the caller
   *  answers with its own), what was missed since the saved seq (Resume also marks this device present again), then,
   *  for voice or video, `renegotiate` {rejoin: true}: this page has no RTCPeerConnection, so the caller makes a new one
   *  and offers, as after its own reload. */
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

  /** Caller: the owner's page reloaded and has no connection any more: a new RTCPeerConnection (new pcId, fresh TURN
   *  credentials when there is TURN) and a new offer. */
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
    this.accepted = true;
    this.activeIfReady();
  }

  /** Decides whether this side may set up voice/video on this call: always with a relay; otherwise the user's answer. */
  async mediaAllowed() {
    this.policy ??= icePolicy(await this.iceList());
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
    this.iceServerList ??= await this.iceServers();
    return this.iceServerList;
  }

  askDirect() {
    return new Promise((resolve) => {
      const prompt = $('direct-prompt');
      prompt.hidden = false;
      const answer = (yes) => {
        prompt.hidden = true;
        this.answerDirect = null;
        resolve(yes);
      };
      this.answerDirect = answer; // also used when the other side turns media off first
      $('direct-yes').onclick = () => answer(true);
      $('direct-no').onclick = () => answer(false);
      // Focus on the question, not on "Connect directly": a stray Enter must not give the address away.
      prompt.tabIndex = -1;
      prompt.focus();
    });
  }

  async setUpMedia() {
    const allowed = await this.mediaAllowed();
    if (this.ended || this.mediaOff) return;
    if (!allowed) { await this.turnMediaOff('declined-here'); return; }
    $('ip-notice').hidden = this.policy === 'relay';
    if (!this.localStream) {
      try {
        this.localStream = await acquireMedia(this.media);
      } catch (e) {
        this.showMediaProblem(e);
        return;
      }
      if (this.ended) { this.stopLocal(); return; }
      this.showLocal();
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

  mediaFailed(e) {
    console.warn('media set-up failed', e);
    if (!this.ended) this.showNote(describeError(e, 'set up voice or video'));
  }

  /** Microphone/camera not available: say why, offer "Try again" and "Continue in chat". */
  showMediaProblem(problem) {
    $('media-problem-text').textContent = problem?.message ?? 'Could not start the microphone.';
    $('media-problem').hidden = false;
    $('media-retry').onclick = async () => {
      $('media-problem').hidden = true;
      try {
        this.localStream = await acquireMedia(this.media);
        this.showLocal();
        await this.setUpMedia();
      } catch (e) {
        if (e instanceof MediaProblem) this.showMediaProblem(e);
        else this.mediaFailed(e);
      }
    };
    $('media-chat').onclick = () => { $('media-problem').hidden = true; this.turnMediaOff('unavailable-here'); };
    $('media-chat').hidden = this.chatAllowed === false;
    $('media-retry').focus();
  }

  showLocal() {
    $('local-video').srcObject = this.localStream;
    this.updateCameraSwitch();
    this.updateDeviceChoice();
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
    this.applyMediaOff();
    if (reason.endsWith('-here')) {
      await this.signal('renegotiate', { media: 'off', reason: reason === 'declined-here' ? 'declined' : 'unavailable' }).catch(() => {});
    }
    this.activeIfReady();
  }

  applyMediaOff() {
    this.pc?.close();
    this.pc = null;
    this.stopLocal();
    this.pendingOffer = null;
    $('direct-prompt').hidden = true;
    $('media-problem').hidden = true;
    $('call-media').hidden = true;
    $('mute').hidden = true;
    $('camera').hidden = true;
    $('switch-camera').hidden = true;
    $('devices').hidden = true;
    $('ip-notice').hidden = true;
    $('media-off').textContent = MEDIA_OFF_TEXT[this.mediaOff] ?? '';
    $('media-off').hidden = false;
  }

  async ensurePeerConnection(fresh = false) {
    if (this.pc && !fresh) return this.pc;
    this.pc?.close();
    const iceServers = await this.iceList();
    await this.e2eReady;
    this.policy ??= icePolicy(iceServers);
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
    pc.ontrack = (e) => {
      const video = $('remote-video');
      if (video.srcObject !== e.streams[0]) video.srcObject = e.streams[0];
      video.play?.().catch(() => {});
      if (e.track.kind === 'video') {
        const placeholder = $('remote-placeholder');
        const update = () => { placeholder.hidden = !e.track.muted; };
        e.track.onmute = update;
        e.track.onunmute = update;
        update();
      }
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc || this.ended) return;
      if (pc.connectionState === 'connected') this.setState('active');
      else if (pc.connectionState === 'disconnected' && this.state === 'active') this.setState('reconnecting');
      if (pc.connectionState === 'failed' && this.role === 'caller') this.restartIce();
    };
    for (const track of this.localStream?.getTracks() ?? []) pc.addTrack(track, this.localStream);
    return pc;
  }

  async sendOffer(options) {
    const pc = this.pc;
    const offer = await pc.createOffer(options);
    await pc.setLocalDescription(offer);
    await this.signal('offer', { type: offer.type, sdp: sanitizeSdp(offer.sdp, this.policy === 'relay'), pcId: this.pcId });
  }

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

  /** Sends a signal; `mailbox_full` (the other side has not caught up yet) is back-pressure: wait and send again. */
  async signal(type, data) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.hub.invoke('Signal', this.callId, type, data);
      } catch (e) {
        if (attempt >= 20 || !String(e?.message).includes('mailbox_full:')) throw e;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  // ---- incoming events (kept in order through one promise chain) ----
  enqueue(kind, evt) {
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
    debugState().events.push({ kind, type: evt.type, seq: evt.seq });
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
    this.unacked = (this.unacked ?? 0) + 1;
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

  /** After the hub (re)connected: fetch what was missed (everything after the last seq seen, or from the start). */
  async resume(fromStart = false) {
    if (this.ended) return;
    const events = await this.hub.invoke('Resume', this.callId, fromStart ? 0 : this.lastSeq);
    for (const e of events ?? []) {
      if (e.type === 'chat') this.enqueue('chat', { seq: e.seq, from: e.from, ciphertext: e.data });
      else this.enqueue('signal', e);
    }
  }

  save() {
    this.persist?.({ lastSeq: this.lastSeq, direct: this.direct, mediaOff: this.mediaOff });
  }

  // ---- chat, end to end encrypted (docs/e2e.md) ----
  /** Caller: a new key exchange (its commitment). Owner after a reload: asks the caller to start a new one. */
  async sendKeyExchange() {
    const session = await this.e2eReady;
    const message = await session.start();
    if (this.role === 'caller') this.showEncryptionPending();
    await this.signal('key-exchange', message);
  }

  async receiveKeyExchange(data) {
    const session = await this.e2eReady;
    let result;
    try {
      result = await session.receive(data);
    } catch (e) {
      if (!(e instanceof E2EError)) throw e;
      (debugState().e2eRefusals ??= []).push(e.reason);
      if (e.reason === 'commit-mismatch') this.showE2EFailure();
      else console.warn('key-exchange message refused:', e.reason);
      return;
    }
    // The reply goes out before the chat opens: it reaches the other side before any message under the new keys.
    if (result.reply) await this.signal('key-exchange', result.reply);
    if (result.established) this.showCheckCode();
    else this.showEncryptionPending(result.reset);
    if (result.established && this.role === 'owner' && this.pendingOffer && this.mediaReady) {
      const offer = this.pendingOffer; // it waited for the caller's DTLS fingerprint
      this.pendingOffer = null;
      await this.answerOffer(offer);
    }
  }

  /** A remote SDP must carry the DTLS fingerprint the key exchange agreed (and the check code covers); another one means
   *  the voice or video would be encrypted to someone else. */
  sdpMatchesKeys(sdp) {
    const session = this.e2e;
    if (session?.established && fingerprintFromSdp(sdp) === session.peerFingerprint) return true;
    (debugState().e2eRefusals ??= []).push('fingerprint');
    this.showNote('Voice/video refused: the connection\'s security fingerprint is not the one agreed in the key exchange. '
      + 'Someone may be interfering with this call.');
    return false;
  }

  setChatEnabled(enabled) {
    $('chat-input').disabled = !enabled;
    $('chat-send').disabled = !enabled;
  }

  showEncryptionPending(reset = false) {
    this.setChatEnabled(false);
    const safety = $('chat-safety');
    safety.dataset.e2e = 'pending';
    safety.textContent = reset || this.shownCode
      ? 'The other side started a new key exchange: setting up encryption again…'
      : 'Setting up encryption…';
  }

  showE2EFailure() {
    this.setChatEnabled(false);
    const safety = $('chat-safety');
    safety.dataset.e2e = 'failed';
    safety.textContent = 'Encryption failed: the other side\'s key is not the one it had committed to. Someone may be '
      + 'interfering with this call; the chat stays off.';
  }

  /** "Compare this code with the other person: 123 456", and a note when it replaced another one. */
  showCheckCode() {
    const session = this.e2e;
    const code = session.checkCode;
    const scope = session.localFingerprint && session.peerFingerprint
      ? 'It covers this chat and the voice/video connection.'
      : 'It covers this chat.';
    const safety = $('chat-safety');
    safety.dataset.e2e = 'established';
    safety.replaceChildren('End-to-end encrypted. Compare this code with the other person: ',
      el('strong', { testid: 'check-code', class: 'check-code' }, code), `. ${scope} If your codes differ, someone may be listening in.`);
    if (this.shownCode !== null && this.shownCode !== code) {
      safety.dataset.changed = 'true';
      this.showNote(`The check code changed to ${code}: a new key exchange (the other side reloaded its page, or someone `
        + 'interfered). Compare the new code with the other person.');
    }
    this.shownCode = code;
    this.setChatEnabled(true);
  }

  async sendChat() {
    const input = $('chat-input');
    const text = input.value.trim();
    if (!text || !this.e2e?.established) return;
    $('chat-error').textContent = '';
    try {
      const ciphertext = await this.e2e.encrypt(text);
      await this.hub.invoke('Chat', this.callId, ciphertext);
      input.value = '';
      this.appendChat('me', text);
    } catch (e) {
      $('chat-error').textContent = describeError(e, 'send the message');
    }
  }

  async receiveChat(ciphertext) {
    this.showTyping(false);
    if (!this.e2e?.established || typeof ciphertext !== 'string') { this.appendChatNotice('(could not decrypt)'); return; }
    try {
      const { text, missed } = await this.e2e.decrypt(ciphertext);
      if (missed > 0) this.appendChatNotice(missed === 1 ? '(1 message did not arrive)' : `(${missed} messages did not arrive)`);
      this.appendChat('them', text);
    } catch (e) {
      if (!(e instanceof E2EError)) throw e;
      (debugState().e2eRefusals ??= []).push(e.reason);
      this.appendChatNotice(e.reason === 'replay' ? '(a repeated or out-of-order message was refused)' : '(could not decrypt)');
    }
  }

  appendChatNotice(text) {
    const li = el('li', { class: 'notice', testid: 'chat-notice' }, text);
    $('chat-log').append(li);
    li.scrollIntoView?.({ block: 'nearest' });
  }

  appendChat(who, text) {
    const li = el('li', { class: who, testid: 'chat-message' }, text);
    $('chat-log').append(li);
    li.scrollIntoView?.({ block: 'nearest' });
  }

  showTyping(isTyping) { $('typing').textContent = isTyping ? 'The other side is typing…' : ''; }

  // ---- controls ----
  toggleMute() {
    const track = this.localStream?.getAudioTracks()[0];
    if (!track) return;
    track.enabled = !track.enabled;
    const muted = !track.enabled;
    $('mute').textContent = muted ? 'Unmute' : 'Mute';
    $('mute').setAttribute('aria-pressed', String(muted));
    $('mute').setAttribute('aria-label', muted ? 'Unmute microphone' : 'Mute microphone');
    $('muted-badge').hidden = !muted;
  }

  toggleCamera() {
    const track = this.localStream?.getVideoTracks()[0];
    if (!track) return;
    track.enabled = !track.enabled;
    const off = !track.enabled;
    $('camera').textContent = off ? 'Camera on' : 'Camera off';
    $('camera').setAttribute('aria-pressed', String(off));
    $('camera').setAttribute('aria-label', off ? 'Turn camera on' : 'Turn camera off');
    $('local-placeholder').hidden = !off;
  }

  /** Shows "Switch camera" when the device has more than one camera (front and back on a phone). */
  async updateCameraSwitch() {
    if (this.media !== 'video' || !navigator.mediaDevices?.enumerateDevices) return;
    const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
    this.cameras = cameras;
    $('switch-camera').hidden = cameras.length < 2 || !!this.mediaOff || this.ended;
  }

  async switchCamera() {
    const current = this.localStream?.getVideoTracks()[0];
    if (!current || !this.cameras?.length) return;
    const index = Math.max(0, this.cameras.findIndex((c) => c.deviceId === current.getSettings().deviceId));
    this.cameraIndex = ((this.cameraIndex ?? index) + 1) % this.cameras.length;
    const next = this.cameras[this.cameraIndex];
    await this.replaceLocalTrack(current, next.deviceId ? { deviceId: { exact: next.deviceId } } : true);
    $('local-video').srcObject = this.localStream;
    $('switch-camera').dataset.camera = String(this.cameraIndex);
    $('switch-camera').setAttribute('aria-label', `Switch camera (now ${next.label || 'camera ' + (this.cameraIndex + 1)})`);
  }

  /** Microphone and speaker choice, shown when the device has more than one (a headset, a car's hands-free). A
   *  speaker choice needs the browser's setSinkId. */
  async updateDeviceChoice() {
    if (!this.withMedia || !navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, list, current) => {
      select.replaceChildren(...list.map((d, i) => el('option', { value: d.deviceId }, d.label || `Device ${i + 1}`)));
      if (current) select.value = current;
    };
    const mics = devices.filter((d) => d.kind === 'audioinput' && d.deviceId);
    const speakers = 'setSinkId' in HTMLMediaElement.prototype ? devices.filter((d) => d.kind === 'audiooutput' && d.deviceId) : [];
    fill($('mic-select'), mics, this.localStream?.getAudioTracks()[0]?.getSettings().deviceId);
    fill($('speaker-select'), speakers, $('remote-video').sinkId || 'default');
    $('mic-choice').hidden = mics.length < 2;
    $('speaker-choice').hidden = speakers.length < 2;
    $('devices').hidden = (mics.length < 2 && speakers.length < 2) || !!this.mediaOff || this.ended;
  }

  /** Sends another microphone's sound from now on; a muted microphone stays muted. */
  async switchMicrophone(deviceId) {
    const current = this.localStream?.getAudioTracks()[0];
    if (!current || current.getSettings().deviceId === deviceId) return;
    await this.replaceLocalTrack(current, { deviceId: { exact: deviceId } });
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
  }

  /** Plays the other side through another speaker (or headset). */
  async switchSpeaker(deviceId) {
    await $('remote-video').setSinkId(deviceId);
  }

  async hangup() {
    // The server's CallEnded may arrive before Hangup returns: it is still this side that hung up.
    this.hangingUp = true;
    try { await this.hub.invoke('Hangup', this.callId); } catch (e) { console.warn('hangup', hubErrorCode(e) ?? e); }
    this.end(this.accepted ? 'hangup' : 'canceled', true);
  }

  end(reason, byMe = false) {
    if (this.ended) return;
    byMe ||= this.hangingUp === true && (reason === 'hangup' || reason === 'canceled');
    this.ended = true;
    this.answerDirect?.(false);
    this.pc?.close();
    this.stopLocal();
    clearInterval(this.timer);
    clearTimeout(this.ackTimer);
    this.setState('ended');
    $('call').dataset.endReason = reason;
    $('peer-state').textContent = '';
    const duration = this.startedAt ? ` · ${formatDuration(Date.now() - this.startedAt)}` : '';
    $('call-ended').hidden = false;
    $('call-ended').textContent = endText(reason, this.role, byMe) + duration;
    // Nothing left to press but what makes sense now.
    for (const id of ['direct-prompt', 'media-problem', 'call-controls', 'devices', 'ip-notice', 'chat-form', 'typing', 'call-timer']) $(id).hidden = true;
    $('call-media').hidden = true;
    $('call-again').hidden = !this.onCallAgain;
    $('end-controls').hidden = false;
    (this.onCallAgain ? $('call-again') : $('call-close')).focus();
    this.onEnded?.(reason);
  }
}

/** Wires the hub's per-call events to whichever session is current. */
export function routeCallEvents(hub, currentSession) {
  const forCall = (handler) => (evt) => {
    const session = currentSession();
    if (session && evt && evt.callId === session.callId) handler(session, evt);
  };
  hub.on('Signal', forCall((s, e) => s.enqueue('signal', e)));
  hub.on('Chat', forCall((s, e) => s.enqueue('chat', e)));
  hub.on('Typing', forCall((s, e) => s.showTyping(e.isTyping)));
  hub.on('CallAccepted', forCall((s) => s.markAccepted()));
  hub.on('CallEnded', forCall((s, e) => { s.queue.then(() => s.end(e.reason)); }));
  // A line in the call view about the connection; only while a call is shown.
  const note = (session, text) => { if (session && !session.ended && $('peer-state')) $('peer-state').textContent = text; };
  hub.on('PeerLeft', forCall((s) => note(s, 'The other side lost its connection…')));
  hub.on('PeerJoined', forCall((s) => note(s, '')));
  hub.onreconnecting(() => note(currentSession(), 'Connection lost — reconnecting…'));
  hub.onreconnected(() => {
    const session = currentSession();
    note(session, '');
    session?.resume().catch((e) => console.warn('resume', e));
  });
}

/** Puts the call view's markup (shared by both pages) into its placeholder. */
export function renderCallView() {
  $('call').innerHTML = `
    <h2 id="call-title">Call</h2>
    <p class="status"><strong id="call-state" data-testid="call-state" role="status">Starting…</strong>
      <span id="call-timer" data-testid="call-timer" class="timer" aria-label="Call duration" hidden>0:00</span></p>
    <p id="peer-state" class="hint" role="status"></p>
    <div id="direct-prompt" class="prompt" data-testid="direct-prompt" role="group" aria-labelledby="direct-question" hidden>
      <p id="direct-question" data-testid="direct-question">${DIRECT_QUESTION}</p>
      <p class="hint">This server has no relay for calls. Say no to keep your address private: the chat still works.</p>
      <div class="row">
        <button type="button" id="direct-yes" data-testid="direct-yes">Connect directly</button>
        <button type="button" id="direct-no" data-testid="direct-no" class="secondary">No, chat only</button>
      </div>
    </div>
    <div id="media-problem" class="prompt" data-testid="media-problem" role="alert" hidden>
      <p id="media-problem-text"></p>
      <div class="row">
        <button type="button" id="media-retry" data-testid="media-retry">Try again</button>
        <button type="button" id="media-chat" data-testid="media-chat" class="secondary">Continue in chat</button>
      </div>
    </div>
    <p id="media-off" data-testid="media-off" class="notice" role="status" hidden></p>
    <div id="call-media" class="media">
      <video id="remote-video" data-testid="remote-video" autoplay playsinline aria-label="The other side's video"></video>
      <p id="remote-placeholder" class="placeholder" data-testid="remote-placeholder" hidden>No video from the other side</p>
      <div class="local">
        <video id="local-video" data-testid="local-video" autoplay playsinline muted aria-label="Your own video"></video>
        <p id="local-placeholder" class="placeholder" data-testid="local-placeholder" hidden>Your camera is off</p>
      </div>
      <p class="audio-label" aria-hidden="true">Voice call</p>
      <p id="muted-badge" class="badge muted" data-testid="muted-badge" hidden>Your microphone is off</p>
    </div>
    <div id="call-controls" class="controls">
      <button type="button" id="mute" data-testid="mute" aria-pressed="false" aria-label="Mute microphone">Mute</button>
      <button type="button" id="camera" data-testid="camera" aria-pressed="false" aria-label="Turn camera off">Camera off</button>
      <button type="button" id="switch-camera" data-testid="switch-camera" aria-label="Switch camera" hidden>Switch camera</button>
      <button type="button" id="hangup" class="danger" data-testid="hangup" aria-label="Hang up">Hang up</button>
    </div>
    <div id="devices" class="row devices" data-testid="devices" hidden>
      <label id="mic-choice" hidden>Microphone <select id="mic-select" data-testid="mic-select"></select></label>
      <label id="speaker-choice" hidden>Speaker <select id="speaker-select" data-testid="speaker-select"></select></label>
    </div>
    <p id="ip-notice" data-testid="ip-notice" class="hint notice" role="note" hidden>Direct connection: the other side of
      this call can see your IP address.</p>
    <p id="call-note" data-testid="call-note" class="hint" role="status"></p>
    <p id="call-ended" data-testid="call-ended" role="status" hidden></p>
    <div id="end-controls" class="controls" data-testid="end-controls" hidden>
      <button type="button" id="call-again" data-testid="call-again">Call again</button>
      <button type="button" id="call-close" data-testid="call-close" class="secondary">Close</button>
    </div>
    <div class="chat" aria-label="Chat">
      <p id="chat-safety" data-testid="chat-safety" class="hint" role="status">Setting up encryption…</p>
      <ol id="chat-log" aria-live="polite" aria-label="Chat messages"></ol>
      <p id="typing" class="hint" aria-live="polite"></p>
      <form id="chat-form" class="row">
        <label for="chat-input" class="sr-only">Message</label>
        <input id="chat-input" data-testid="chat-input" autocomplete="off" maxlength="2000" placeholder="Message" disabled>
        <button id="chat-send" data-testid="chat-send" disabled>Send</button>
      </form>
      <p id="chat-error" class="error" role="alert"></p>
    </div>`;
}
