// The call view of both pages: it renders one call of the JavaScript client module (qrcalling-client.js: signaling,
// WebRTC, Resume and de-duplication, acknowledgements, E2E chat) from its events, and turns the user's clicks into the
// module's methods. All call logic lives in the module; this file only touches the page.
import { $, debugState, describeError, el, forceRelay } from './api.js';
import { Call, routeCallEvents as routeToCall } from './qrcalling-client.js';
import { CallFiles } from './call-files.js';

export { acquireMedia, hasTurn, MediaProblem } from './qrcalling-client.js';
export { icePolicy } from './ice.js';

/** The question asked, on each call without a TURN server, before anything could reveal this device's IP address. */
export const DIRECT_QUESTION = 'A direct connection shows your IP address to the other side. Connect directly?';

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

/** A call on screen: the module's `Call` (in `.call`) and its view. Options as the module's CallOptions, plus
 *  onEnded(reason), onCallAgain() ("Call again" after the end) and onClose() ("Close"). */
export class CallSession {
  constructor(o) {
    this.onEnded = o.onEnded;
    this.onCallAgain = o.onCallAgain;
    this.onClose = o.onClose;
    this.call = new Call({ ...o, forceRelay: forceRelay(), askDirect: () => this.askDirect() });
    this.timer = null;
    const debug = debugState();
    debug.session = this.call; // tests read pc, pcId, localStream, callId and restartIce() there
    this.call.e2eReady.then((e2e) => { if (debug.session === this.call) debug.e2e = e2e; });
    this.listen();
    this.bindUi();
    this.files = new CallFiles(this.call);
    this.files.setEnabled(false);
  }

  get callId() { return this.call.callId; }
  get ended() { return this.call.ended; }
  get role() { return this.call.role; }
  get media() { return this.call.media; }
  get restored() { return this.call.restored; }
  set restored(value) { this.call.restored = value; }

  startAsCaller(options) { return this.call.startAsCaller(options); }
  startAsOwner() { return this.call.startAsOwner(); }
  rejoinAsOwner() { return this.call.rejoinAsOwner(); }
  resume(fromStart) { return this.call.resume(fromStart); }
  connection(state) { return this.call.connection(state); }
  hangup() { return this.call.hangup(); }
  end(reason, byMe) { this.call.end(reason, byMe); }

  listen() {
    const on = (type, handler) => this.call.addEventListener(type, (e) => handler(e.detail));
    on('statechange', ({ state }) => this.setState(state));
    on('ended', (d) => this.showEnd(d));
    on('chat', ({ text }) => this.appendChat('them', text));
    on('chatproblem', ({ kind, count }) => this.appendChatNotice(kind === 'missed'
      ? (count === 1 ? '(1 message did not arrive)' : `(${count} messages did not arrive)`)
      : kind === 'replay' ? '(a repeated or out-of-order message was refused)' : '(could not decrypt)'));
    on('typing', ({ isTyping }) => { $('typing').textContent = isTyping ? 'The other side is typing…' : ''; });
    on('e2e', (d) => this.showE2E(d));
    on('mediaoff', () => this.applyMediaOff());
    on('mediaproblem', ({ problem }) => this.showMediaProblem(problem));
    on('mediasetup', ({ relayOnly }) => { $('ip-notice').hidden = relayOnly; });
    on('localstream', () => this.showLocal());
    on('remotetrack', (d) => this.showRemote(d));
    on('refused', ({ reason }) => (debugState().e2eRefusals ??= []).push(reason));
    on('entry', (d) => debugState().events.push(d));
    on('warning', ({ kind, error }) => this.showNote(kind === 'fingerprint-mismatch'
      ? 'Voice/video refused: the connection\'s security fingerprint is not the one agreed in the key exchange. '
        + 'Someone may be interfering with this call.'
      : describeError(error, 'set up voice or video')));
    on('peer', ({ present }) => { $('peer-state').textContent = present ? '' : 'The other side lost its connection…'; });
    on('connection', ({ state }) => {
      this.hubLost = state === 'reconnecting';
      $('peer-state').textContent = this.hubLost ? 'Connection lost — reconnecting…' : '';
      this.setState(this.call.state);
    });
  }

  // ---- UI ----
  bindUi() {
    const call = this.call;
    const title = { audio: 'Voice call', video: 'Video call', chat: 'Chat' }[call.media] ?? 'Call';
    $('call-title').textContent = call.label ? `${title} · ${call.label}` : title;
    $('call').hidden = false;
    $('call').classList.toggle('video', call.media === 'video');
    $('call-media').hidden = !call.withMedia;
    $('mute').hidden = !call.withMedia;
    $('camera').hidden = call.media !== 'video';
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
    document.querySelector('#call .chat').hidden = !call.chatAllowed;
    let typingTimer = null;
    $('chat-input').oninput = () => {
      if (!typingTimer) call.sendTyping(true);
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typingTimer = null; call.sendTyping(false); }, 1500);
    };
    if (call.localStream) this.showLocal();
    if (call.mediaOff) this.applyMediaOff();
    this.setState(call.state);
  }

  setState(state) {
    // A connected call whose only channel is the server (chat, or media that is off) is not connected while this side's
    // connection is lost; voice and video go on peer to peer meanwhile.
    const lost = state === 'active' && this.hubLost && (!this.call.withMedia || this.call.mediaOff);
    $('call-state').textContent = lost ? STATE_TEXT.reconnecting : STATE_TEXT[state] ?? state;
    $('call').dataset.state = state;
    if (state === 'active' && !this.timer && this.call.startedAt) this.startTimer();
  }

  startTimer() {
    const timer = $('call-timer');
    timer.hidden = false;
    const tick = () => { timer.textContent = formatDuration(Date.now() - this.call.startedAt); };
    tick();
    this.timer = setInterval(tick, 1000);
  }

  showNote(text) { $('call-note').textContent = text; }

  /** The direct-connection question (no TURN on this server): resolves with the user's answer. */
  askDirect() {
    return new Promise((resolve) => {
      const prompt = $('direct-prompt');
      prompt.hidden = false;
      const answer = (yes) => { prompt.hidden = true; resolve(yes); };
      $('direct-yes').onclick = () => answer(true);
      $('direct-no').onclick = () => answer(false);
      // Focus on the question, not on "Connect directly": a stray Enter must not give the address away.
      prompt.tabIndex = -1;
      prompt.focus();
    });
  }

  /** Microphone/camera not available: say why, offer "Try again" and "Continue in chat". */
  showMediaProblem(problem) {
    $('media-problem-text').textContent = problem?.message ?? 'Could not start the microphone.';
    $('media-problem').hidden = false;
    $('media-retry').onclick = () => { $('media-problem').hidden = true; this.call.retryMedia(); };
    $('media-chat').onclick = () => { $('media-problem').hidden = true; this.call.continueWithoutMedia(); };
    $('media-chat').hidden = !this.call.chatAllowed;
    $('media-retry').focus();
  }

  showLocal() {
    $('local-video').srcObject = this.call.localStream;
    this.updateCameraSwitch();
    this.updateDeviceChoice();
  }

  showRemote({ track, streams }) {
    const video = $('remote-video');
    if (video.srcObject !== streams[0]) video.srcObject = streams[0];
    video.play?.().catch(() => {});
    if (track.kind === 'video') {
      const placeholder = $('remote-placeholder');
      const update = () => { placeholder.hidden = !track.muted; };
      track.onmute = update;
      track.onunmute = update;
      update();
    }
  }

  applyMediaOff() {
    for (const id of ['direct-prompt', 'media-problem', 'call-media', 'mute', 'camera', 'switch-camera', 'devices', 'ip-notice']) $(id).hidden = true;
    $('media-off').textContent = MEDIA_OFF_TEXT[this.call.mediaOff] ?? '';
    $('media-off').hidden = false;
  }

  // ---- chat ----
  async sendChat() {
    const input = $('chat-input');
    const text = input.value.trim();
    if (!text || !this.call.chatReady) return;
    $('chat-error').textContent = '';
    try {
      await this.call.sendChat(text);
      input.value = '';
      this.appendChat('me', text);
    } catch (e) {
      $('chat-error').textContent = describeError(e, 'send the message');
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

  setChatEnabled(enabled) {
    $('chat-input').disabled = !enabled;
    $('chat-send').disabled = !enabled;
    this.files?.setEnabled(enabled);
  }

  /** The chat's encryption: setting up, failed, or "Compare this code with the other person: 123 456". */
  showE2E({ status, reset, checkCode, coversMedia, changed }) {
    const safety = $('chat-safety');
    safety.dataset.e2e = status;
    if (status === 'pending') {
      this.setChatEnabled(false);
      safety.textContent = reset ? 'The other side started a new key exchange: setting up encryption again…' : 'Setting up encryption…';
    } else if (status === 'failed') {
      this.setChatEnabled(false);
      safety.textContent = 'Encryption failed: the other side\'s key is not the one it had committed to. Someone may be '
        + 'interfering with this call; the chat stays off.';
    } else {
      const scope = coversMedia ? 'It covers this chat and the voice/video connection.' : 'It covers this chat.';
      safety.replaceChildren('End-to-end encrypted. Compare this code with the other person: ',
        el('strong', { testid: 'check-code', class: 'check-code' }, checkCode), `. ${scope} If your codes differ, someone may be listening in.`);
      if (changed) {
        safety.dataset.changed = 'true';
        this.showNote(`The check code changed to ${checkCode}: a new key exchange (the other side reloaded its page, or someone `
          + 'interfered). Compare the new code with the other person.');
      }
      this.setChatEnabled(true);
    }
  }

  // ---- controls ----
  toggleMute() {
    if (!this.call.localStream?.getAudioTracks()[0]) return;
    const muted = this.call.setMuted();
    $('mute').textContent = muted ? 'Unmute' : 'Mute';
    $('mute').setAttribute('aria-pressed', String(muted));
    $('mute').setAttribute('aria-label', muted ? 'Unmute microphone' : 'Mute microphone');
    $('muted-badge').hidden = !muted;
  }

  toggleCamera() {
    if (!this.call.localStream?.getVideoTracks()[0]) return;
    const off = this.call.setCameraOff();
    $('camera').textContent = off ? 'Camera on' : 'Camera off';
    $('camera').setAttribute('aria-pressed', String(off));
    $('camera').setAttribute('aria-label', off ? 'Turn camera on' : 'Turn camera off');
    $('local-placeholder').hidden = !off;
  }

  /** Shows "Switch camera" when the device has more than one camera (front and back on a phone). */
  async updateCameraSwitch() {
    if (this.call.media !== 'video' || !navigator.mediaDevices?.enumerateDevices) return;
    const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
    this.cameras = cameras;
    $('switch-camera').hidden = cameras.length < 2 || !!this.call.mediaOff || this.call.ended;
  }

  async switchCamera() {
    const current = this.call.localStream?.getVideoTracks()[0];
    if (!current || !this.cameras?.length) return;
    const index = Math.max(0, this.cameras.findIndex((c) => c.deviceId === current.getSettings().deviceId));
    this.cameraIndex = ((this.cameraIndex ?? index) + 1) % this.cameras.length;
    const next = this.cameras[this.cameraIndex];
    await this.call.replaceLocalTrack(current, next.deviceId ? { deviceId: { exact: next.deviceId } } : true);
    $('local-video').srcObject = this.call.localStream;
    $('switch-camera').dataset.camera = String(this.cameraIndex);
    $('switch-camera').setAttribute('aria-label', `Switch camera (now ${next.label || 'camera ' + (this.cameraIndex + 1)})`);
  }

  /** Microphone and speaker choice, shown when the device has more than one. A speaker choice needs setSinkId. */
  async updateDeviceChoice() {
    if (!this.call.withMedia || !navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, list, current) => {
      select.replaceChildren(...list.map((d, i) => el('option', { value: d.deviceId }, d.label || `Device ${i + 1}`)));
      if (current) select.value = current;
    };
    const mics = devices.filter((d) => d.kind === 'audioinput' && d.deviceId);
    const speakers = 'setSinkId' in HTMLMediaElement.prototype ? devices.filter((d) => d.kind === 'audiooutput' && d.deviceId) : [];
    fill($('mic-select'), mics, this.call.localStream?.getAudioTracks()[0]?.getSettings().deviceId);
    fill($('speaker-select'), speakers, $('remote-video').sinkId || 'default');
    $('mic-choice').hidden = mics.length < 2;
    $('speaker-choice').hidden = speakers.length < 2;
    $('devices').hidden = (mics.length < 2 && speakers.length < 2) || !!this.call.mediaOff || this.call.ended;
  }

  /** Sends another microphone's sound from now on; a muted microphone stays muted. */
  async switchMicrophone(deviceId) {
    const current = this.call.localStream?.getAudioTracks()[0];
    if (!current || current.getSettings().deviceId === deviceId) return;
    await this.call.replaceLocalTrack(current, { deviceId: { exact: deviceId } });
  }

  /** Plays the other side through another speaker (or headset). */
  async switchSpeaker(deviceId) {
    await $('remote-video').setSinkId(deviceId);
  }

  showEnd({ reason, byMe, durationMs }) {
    clearInterval(this.timer);
    $('call').dataset.endReason = reason;
    $('peer-state').textContent = '';
    const duration = durationMs !== null ? ` · ${formatDuration(durationMs)}` : '';
    $('call-ended').hidden = false;
    $('call-ended').textContent = endText(reason, this.call.role, byMe) + duration;
    // Nothing left to press but what makes sense now.
    for (const id of ['direct-prompt', 'media-problem', 'call-controls', 'devices', 'ip-notice', 'chat-form', 'typing', 'call-timer']) $(id).hidden = true;
    $('call-media').hidden = true;
    $('call-again').hidden = !this.onCallAgain;
    $('end-controls').hidden = false;
    (this.onCallAgain ? $('call-again') : $('call-close')).focus();
    this.onEnded?.(reason);
  }
}

/** Wires the hub's per-call events to whichever call view is current (the module's routing, by call id). */
export function routeCallEvents(hub, currentSession) {
  routeToCall(hub, () => currentSession()?.call ?? null);
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
        <label id="attach" for="file-input" class="button secondary attach" data-testid="attach" title="Send a file">Attach</label>
        <input type="file" id="file-input" data-testid="file-input" class="sr-only" disabled>
        <input id="chat-input" data-testid="chat-input" autocomplete="off" maxlength="2000" placeholder="Message" disabled>
        <button id="chat-send" data-testid="chat-send" disabled>Send</button>
      </form>
      <p id="chat-error" class="error" role="alert"></p>
    </div>`;
}
