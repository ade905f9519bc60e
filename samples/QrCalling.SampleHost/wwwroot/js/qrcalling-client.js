// QrCalling's JavaScript client: one ES module, no build step, no DOM. It holds the call logic of both sides (REST,
// hub connection, WebRTC signaling with the ICE privacy policy, reconnect with Resume and seq de-duplication,
// acknowledgements, end-to-end encrypted chat with its check code); a page renders from the events of a `Call`.
// Types: qrcalling-client.d.ts next to this file. The wire contract: docs/protocol.md; E2E v1: docs/e2e.md.
// Rooms (several participants, pairwise E2E): client/rooms.js and client/room-e2e.js; files in rooms: client/room-files.js.
// Signed session QR (offline check with the host's public keys): client/session-qr.js.
//
//   import { QrCallingCaller } from '/js/qrcalling-client.js';
//   const caller = new QrCallingCaller({ signalR });          // the @microsoft/signalr namespace
//   const { label, media } = await caller.scan(link);
//   const call = await caller.call(link, 'chat', { on: {
//     e2e: (e) => { if (e.detail.status === 'established') call.sendChat('Hello'); },
//     chat: (e) => console.log(e.detail.text),
//   } });
import { Call, routeCallEvents } from './client/call.js';
import { QrCallingApi, createHubConnection, isCallerKey, newCallerKey } from './client/rest.js';

export { Call, MediaProblem, acquireMedia, routeCallEvents } from './client/call.js';
export { ApiError, QrCallingApi, createHubConnection, hubErrorCode, isCallerKey, newCallerKey, parsePayload, solveProof } from './client/rest.js';
export { candidateType, hasTurn, icePolicy, sanitizeCandidate, sanitizeCandidateLine, sanitizeSdp } from './client/ice.js';
export { E2EError, E2ESession, certificateFingerprint, fingerprintFromSdp } from './client/e2e.js';
export { Room, createRoom, getRoom, joinRoom, joinRoomRequest, leaveRoomRequest, parseRoomLink, roomQr } from './client/rooms.js';
export { RoomE2E, roomContextId, roomPairRole, roomPlaintext } from './client/room-e2e.js';
export { ROOM_FILE_CHUNK_KIND, ROOM_FILE_KIND, RoomFiles, roomFileBackoff } from './client/room-files.js';
export { SESSION_QR_PREFIX, SessionQrKeys, SessionQrStatus, importSessionQrKeys, isSessionQr, parseSessionQr, sessionQrKeyId, sessionQrRoomPayload, verifySessionQr, verifySessionQrWith } from './client/session-qr.js';
export { CHUNK_BYTES, DEFAULT_MAX_FILE_BYTES, FileError, FileTransfers, formatSize, openChunk, sealChunk, sha256 } from './client/files.js';

/** Keeps a hub connection up while `wanted()` holds: (re)starts it after a close, every `delayMs`. `onOnline` runs after
 * each start. Resolves once started (or no longer wanted). */
export async function keepConnected(hub, { wanted = () => true, delayMs = 3000, onOnline, onOffline } = {}) {
  while (wanted() && hub.state === 'Disconnected') {
    try {
      await hub.start();
    } catch {
      onOffline?.();
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      continue;
    }
    await onOnline?.();
    return;
  }
}

/** The caller's side in a few calls: scan a code, start a call (with the proof of work a busy code asks for), connect
 * the hub with single-use tickets, and get a started `Call`. */
export class QrCallingCaller {
  constructor({ signalR, createHub, baseUrl = '', api, callerKey, forceRelay = false, askDirect } = {}) {
    if (!signalR && !createHub) throw new TypeError('QrCallingCaller needs the @microsoft/signalr namespace (signalR) or createHub.');
    this.signalR = signalR;
    this.createHub = createHub ?? null;
    this.baseUrl = baseUrl;
    this.api = api ?? new QrCallingApi({ baseUrl });
    this.callerKey = isCallerKey(callerKey) ? callerKey : newCallerKey();
    this.forceRelay = forceRelay;
    this.askDirect = askDirect;
  }

  /** POST /scan: `{label, media, ...}` of a code (payload or link form). */
  scan(payloadOrLink) {
    return this.api.scan(payloadOrLink, { callerKey: this.callerKey });
  }

  /** Starts a call and connects it: resolves with the `Call` once the hub is up and the key exchange was sent.
   *  `localStream`: microphone/camera already acquired (for voice or video); `on`: event listeners by type, added before
   *  anything can happen (an early answer may arrive before this resolves). The hub stops when the call ends. */
  async call(payloadOrLink, media, { localStream, onProof, askDirect, persist, on } = {}) {
    const started = await this.api.startCallWithProof(payloadOrLink, media, { callerKey: this.callerKey, onProof });
    const accessTokenFactory = () => this.api.hubTicket(started.callToken);
    const hub = this.createHub
      ? this.createHub(accessTokenFactory)
      : createHubConnection({ signalR: this.signalR, baseUrl: this.baseUrl, accessTokenFactory });
    const call = new Call({
      hub, callId: started.callId, myId: started.callerId, role: 'caller', media,
      iceServers: async () => started.iceServers ?? [],
      freshIceServers: () => this.api.iceServers(started.callToken),
      localStream, forceRelay: this.forceRelay, askDirect: askDirect ?? this.askDirect, persist,
    });
    for (const [type, listener] of Object.entries(on ?? {})) call.addEventListener(type, listener);
    call.callToken = started.callToken;
    call.expiresAt = started.expiresAt;
    routeCallEvents(hub, () => call);
    const wanted = () => !call.ended;
    hub.onclose(() => {
      if (!wanted()) return;
      call.connection('reconnecting');
      setTimeout(() => keepConnected(hub, { wanted, onOnline: () => call.connection('online') }), 1000);
    });
    call.addEventListener('ended', () => setTimeout(() => hub.stop(), 0));
    await hub.start();
    await call.startAsCaller();
    // The owner may have accepted (and sent its key) before this connection was up: catch up from the mailbox.
    await call.resume(true);
    return call;
  }
}
