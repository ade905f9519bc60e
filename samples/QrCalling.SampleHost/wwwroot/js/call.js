// One call on either side: WebRTC media (caller offers, owner answers), signaling through the hub,
// end-to-end encrypted chat (ECDH P-256 key exchange over Signal "key-exchange", AES-GCM with WebCrypto),
// and Resume(callId, lastSeq) after the hub reconnects.
import { $, debugState, forceRelay } from './api.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** True when the list holds a TURN server (a `turn:` or `turns:` URL). */
export function hasTurn(iceServers) {
  return (iceServers ?? []).some((server) => [server?.urls ?? []].flat().some((url) => /^turns?:/i.test(String(url))));
}

/**
 * 'relay' whenever a TURN server is configured (or ?relay=1 asks for it), so neither side ever learns the other's IP
 * address: only relay candidates are gathered and sent, and media goes through the TURN server. 'all' only without TURN.
 */
export function icePolicy(iceServers) {
  return forceRelay() || hasTurn(iceServers) ? 'relay' : 'all';
}

export class CallSession {
  /**
   * @param {object} o
   * @param {any} o.hub SignalR connection
   * @param {string} o.callId
   * @param {string} o.myId callerId (caller) or calleeId (owner): my anonymous id in this call
   * @param {'caller'|'owner'} o.role
   * @param {'audio'|'video'|'chat'} o.media
   * @param {() => Promise<RTCIceServer[]>} o.iceServers
   * @param {(reason: string) => void} [o.onEnded]
   */
  constructor(o) {
    Object.assign(this, o);
    this.state = 'starting';
    this.lastSeq = 0;
    this.seen = new Set();
    this.pc = null;
    this.localStream = null;
    this.pendingCandidates = [];
    this.chatKey = null;
    // Made up front: the peer's key may arrive (early, from the mailbox) before we send ours.
    this.keyPair = crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    this.ended = false;
    this.withMedia = this.media !== 'chat';
    this.queue = Promise.resolve();
    const debug = debugState();
    debug.session = this;
    this.bindUi();
  }

  // ---- UI ----
  bindUi() {
    $('call').hidden = false;
    $('call-ended').hidden = true;
    $('call-media').hidden = !this.withMedia;
    $('remote-video').classList.toggle('audio-only', this.media !== 'video');
    $('local-video').classList.toggle('audio-only', this.media !== 'video');
    $('camera').hidden = this.media !== 'video';
    $('chat-log').replaceChildren();
    $('chat-input').disabled = true;
    $('chat-send').disabled = true;
    $('chat-safety').textContent = 'Setting up encryption…';
    $('mute').onclick = () => this.toggleMute();
    $('camera').onclick = () => this.toggleCamera();
    $('hangup').onclick = () => this.hangup();
    $('chat-form').onsubmit = (e) => { e.preventDefault(); this.sendChat(); };
    let typingTimer = null;
    $('chat-input').oninput = () => {
      if (!typingTimer) this.hub.invoke('Typing', this.callId, true).catch(() => {});
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typingTimer = null; this.hub.invoke('Typing', this.callId, false).catch(() => {}); }, 1500);
    };
    this.setState(this.state);
  }

  setState(state) {
    this.state = state;
    const pcState = this.pc ? ` · media ${this.pc.connectionState}` : '';
    $('call-state').textContent = state + pcState;
    $('call').dataset.state = state;
  }

  // ---- start ----
  /** Caller: media, offer (early offer is allowed while ringing) and key exchange. */
  async startAsCaller() {
    await this.sendKeyExchange();
    if (this.withMedia) {
      await this.ensurePeerConnection();
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      await this.signal('offer', { type: offer.type, sdp: offer.sdp });
    }
    this.setState('ringing');
  }

  /** Owner, after Accept: key exchange; the caller's offer arrives through Signal (or Resume). */
  async startAsOwner() {
    this.setState('connecting');
    await this.sendKeyExchange();
    if (this.media === 'chat') this.setState('active');
  }

  async ensurePeerConnection() {
    if (this.pc) return this.pc;
    const iceServers = await this.iceServers();
    const iceTransportPolicy = icePolicy(iceServers);
    // Without TURN, candidates carry this device's addresses and media flows directly: say so.
    $('ip-notice').hidden = iceTransportPolicy === 'relay';
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
    this.pc = pc;
    pc.onicecandidate = (e) => { if (e.candidate) this.signal('ice-candidate', e.candidate.toJSON()).catch(() => {}); };
    pc.ontrack = (e) => {
      const video = $('remote-video');
      if (video.srcObject !== e.streams[0]) video.srcObject = e.streams[0];
      video.play?.().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected') this.setState('active');
      else this.setState(this.state);
      if (pc.connectionState === 'failed' && this.role === 'caller' && !this.ended) this.restartIce();
    };
    this.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: this.media === 'video' });
    $('local-video').srcObject = this.localStream;
    for (const track of this.localStream.getTracks()) pc.addTrack(track, this.localStream);
    return pc;
  }

  async restartIce() {
    try {
      const offer = await this.pc.createOffer({ iceRestart: true });
      await this.pc.setLocalDescription(offer);
      await this.signal('offer', { type: offer.type, sdp: offer.sdp });
    } catch (e) { console.warn('ICE restart failed', e); }
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
    this.queue = this.queue.then(() => this.process(kind, evt)).catch((e) => console.warn('call event failed', e));
    return this.queue;
  }

  async process(kind, evt) {
    if (this.ended) return;
    if (typeof evt.seq === 'number') {
      if (this.seen.has(evt.seq)) return; // already seen: Resume may repeat what also arrived live
      this.seen.add(evt.seq);
      this.lastSeq = Math.max(this.lastSeq, evt.seq);
      this.noteReceived();
    }
    if (evt.from && evt.from === this.myId) return;
    debugState().events.push({ kind, type: evt.type, seq: evt.seq });
    if (kind === 'chat') return this.receiveChat(evt.ciphertext);
    switch (evt.type) {
      case 'offer': {
        const pc = await this.ensurePeerConnection();
        await pc.setRemoteDescription(evt.data);
        await this.flushCandidates();
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        await this.signal('answer', { type: answer.type, sdp: answer.sdp });
        break;
      }
      case 'answer':
        if (this.pc) { await this.pc.setRemoteDescription(evt.data); await this.flushCandidates(); }
        break;
      case 'ice-candidate':
        if (this.pc?.remoteDescription) await this.pc.addIceCandidate(evt.data);
        else this.pendingCandidates.push(evt.data);
        break;
      case 'key-exchange':
        await this.receiveKeyExchange(evt.data);
        break;
      case 'renegotiate':
        if (this.role === 'caller') await this.restartIce();
        break;
      case 'chat':
        await this.receiveChat(typeof evt.data === 'string' ? evt.data : evt.data?.ciphertext);
        break;
      case 'call-accepted':
        this.accepted();
        break;
      case 'call-ended':
        this.end(evt.data?.reason ?? 'ended');
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

  async flushCandidates() {
    const pending = this.pendingCandidates.splice(0);
    for (const c of pending) await this.pc.addIceCandidate(c);
  }

  accepted() {
    if (this.state === 'ringing' || this.state === 'starting') this.setState(this.media === 'chat' ? 'active' : 'connecting');
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

  // ---- chat, end to end encrypted ----
  async sendKeyExchange() {
    const keyPair = await this.keyPair;
    this.myPublic = new Uint8Array(await crypto.subtle.exportKey('raw', keyPair.publicKey));
    await this.signal('key-exchange', { publicKey: b64(this.myPublic) });
  }

  async receiveKeyExchange(data) {
    const peerPublic = unb64(data.publicKey);
    const peerKey = await crypto.subtle.importKey('raw', peerPublic, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const keyPair = await this.keyPair;
    this.myPublic ??= new Uint8Array(await crypto.subtle.exportKey('raw', keyPair.publicKey));
    const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: peerKey }, keyPair.privateKey, 256);
    const hkdf = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
    this.chatKey = await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: enc.encode(this.callId), info: enc.encode('qrcalling chat v1') },
      hkdf, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    // A short safety code both sides can compare: SHA-256 over both public keys in a fixed order.
    const [a, b] = [b64(this.myPublic), data.publicKey].sort();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(a + b)));
    const code = Array.from(digest.slice(0, 3), (x) => x.toString().padStart(3, '0')).join(' ');
    $('chat-safety').textContent = `End-to-end encrypted · safety code ${code}`;
    $('chat-input').disabled = false;
    $('chat-send').disabled = false;
  }

  async sendChat() {
    const input = $('chat-input');
    const text = input.value.trim();
    if (!text || !this.chatKey) return;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, this.chatKey, enc.encode(text)));
    const message = new Uint8Array(iv.length + sealed.length);
    message.set(iv);
    message.set(sealed, iv.length);
    await this.hub.invoke('Chat', this.callId, b64(message));
    input.value = '';
    this.appendChat('me', text);
  }

  async receiveChat(ciphertext) {
    if (!this.chatKey || typeof ciphertext !== 'string') { this.appendChat('them', '(could not decrypt)'); return; }
    try {
      const bytes = unb64(ciphertext);
      const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(0, 12) }, this.chatKey, bytes.slice(12));
      this.appendChat('them', dec.decode(plain));
    } catch {
      this.appendChat('them', '(could not decrypt)');
    }
  }

  appendChat(who, text) {
    const li = document.createElement('li');
    li.className = who;
    li.dataset.testid = 'chat-message';
    li.textContent = text;
    $('chat-log').append(li);
  }

  showTyping(isTyping) { $('typing').textContent = isTyping ? 'The other side is typing…' : ''; }

  // ---- controls ----
  toggleMute() {
    const track = this.localStream?.getAudioTracks()[0];
    if (!track) return;
    track.enabled = !track.enabled;
    $('mute').textContent = track.enabled ? 'Mute' : 'Unmute';
    $('mute').setAttribute('aria-pressed', String(!track.enabled));
  }

  toggleCamera() {
    const track = this.localStream?.getVideoTracks()[0];
    if (!track) return;
    track.enabled = !track.enabled;
    $('camera').textContent = track.enabled ? 'Camera off' : 'Camera on';
    $('camera').setAttribute('aria-pressed', String(!track.enabled));
  }

  async hangup() {
    try { await this.hub.invoke('Hangup', this.callId); } catch (e) { console.warn('hangup', e); }
    this.end('hangup');
  }

  end(reason) {
    if (this.ended) return;
    this.ended = true;
    this.pc?.close();
    this.localStream?.getTracks().forEach((t) => t.stop());
    this.setState(`ended (${reason})`);
    $('call').dataset.state = 'ended';
    $('call-ended').hidden = false;
    $('call-ended').textContent = `Call ended: ${reason}`;
    $('chat-input').disabled = true;
    $('chat-send').disabled = true;
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
  hub.on('CallAccepted', forCall((s) => s.accepted()));
  hub.on('CallEnded', forCall((s, e) => { s.queue.then(() => s.end(e.reason)); }));
  hub.on('PeerLeft', forCall(() => { $('peer-state').textContent = 'The other side lost its connection…'; }));
  hub.on('PeerJoined', forCall(() => { $('peer-state').textContent = ''; }));
  hub.onreconnecting(() => { $('hub-state').textContent = 'reconnecting…'; });
  hub.onreconnected(() => { $('hub-state').textContent = 'online'; currentSession()?.resume().catch((e) => console.warn('resume', e)); });
  hub.onclose(() => { $('hub-state').textContent = 'offline'; });
}

/** Puts the call view's markup (shared by both pages) into its placeholder. */
export function renderCallView() {
  $('call').innerHTML = `
    <h2>Call</h2>
    <p class="status">State: <strong id="call-state" data-testid="call-state">idle</strong>
      <span id="peer-state" role="status"></span></p>
    <div id="call-media" class="media">
      <video id="remote-video" data-testid="remote-video" autoplay playsinline aria-label="The other side's video"></video>
      <video id="local-video" data-testid="local-video" autoplay playsinline muted aria-label="Your own video"></video>
      <p class="audio-label" aria-hidden="true">Voice call</p>
    </div>
    <div class="controls">
      <button type="button" id="mute" aria-pressed="false" aria-label="Mute microphone">Mute</button>
      <button type="button" id="camera" aria-pressed="false" aria-label="Turn camera off">Camera off</button>
      <button type="button" id="hangup" class="danger" data-testid="hangup" aria-label="Hang up">Hang up</button>
    </div>
    <p id="ip-notice" data-testid="ip-notice" class="hint notice" role="note" hidden>Please note: this service has no
      TURN server configured, so the other side of this call can see your IP address.</p>
    <p id="call-ended" data-testid="call-ended" role="status" hidden></p>
    <div class="chat" aria-label="Chat">
      <p id="chat-safety" class="hint"></p>
      <ol id="chat-log" aria-live="polite" aria-label="Chat messages"></ol>
      <p id="typing" class="hint" aria-live="polite"></p>
      <form id="chat-form" class="row">
        <label for="chat-input" class="sr-only">Message</label>
        <input id="chat-input" data-testid="chat-input" autocomplete="off" maxlength="2000" placeholder="Message" disabled>
        <button id="chat-send" data-testid="chat-send" disabled>Send</button>
      </form>
    </div>`;
}
