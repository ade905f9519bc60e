// A usage sample of the JavaScript client module, type-checked against qrcalling-client.d.ts with `tsc --noEmit --strict`
// (TypeScriptDeclarationsTests). It is never run.
import {
  ApiError, Call, DEFAULT_MAX_FILE_BYTES, E2EError, FileError, FileTransfers, MediaProblem, formatSize, QrCallingApi, QrCallingCaller, acquireMedia, createHubConnection, hasTurn,
  hubErrorCode, icePolicy, keepConnected, parsePayload, routeCallEvents, sanitizeCandidate, sanitizeSdp,
  type CallState, type E2EStatusDetail, type FileTransfer, type HubConnectionLike, type MediaKind, type ScanResult, type SignalRNamespace,
} from './qrcalling-client.js';

declare const signalR: SignalRNamespace;

export async function caller(link: string): Promise<void> {
  const client = new QrCallingCaller({ signalR, askDirect: async () => false });
  const info: ScanResult = await client.scan(link);
  const media: MediaKind = info.media.includes('chat') ? 'chat' : 'audio';
  const localStream = media === 'chat' ? undefined : await acquireMedia(media);
  const call: Call = await client.call(link, media, {
    localStream,
    onProof: (round: number) => console.log(round),
    on: { accepted: () => console.log('answered'), typing: (e) => console.log(e.detail.isTyping === true) },
  });
  call.addEventListener('statechange', (e) => { const state: CallState = e.detail.state; console.log(state); });
  call.addEventListener('e2e', (e) => {
    const detail: E2EStatusDetail = e.detail;
    if (detail.status === 'established') console.log(detail.checkCode.length, detail.changed, detail.coversMedia);
  });
  call.addEventListener('chat', (e) => console.log(e.detail.text.toUpperCase()));
  call.addEventListener('chatproblem', (e) => console.log(e.detail.kind, e.detail.count ?? 0));
  call.addEventListener('mediaproblem', (e) => {
    if (e.detail.problem instanceof MediaProblem && e.detail.problem.kind === 'denied') void call.continueWithoutMedia();
    else void call.retryMedia();
  });
  call.addEventListener('ended', (e) => console.log(e.detail.reason, e.detail.byMe, e.detail.durationMs ?? 0));
  call.files.addEventListener('offer', (e) => { const t: FileTransfer = e.detail.transfer; void call.files.accept(t.id); });
  call.files.addEventListener('complete', (e) => { void e.detail.blob.size; void call.files.markSaved(e.detail.transfer.id); });
  call.files.addEventListener('saved', (e) => console.log(`${e.detail.transfer.name} saved (${formatSize(e.detail.transfer.size)})`));
  call.files.addEventListener('failed', (e) => console.log(e.detail.reason === 'too-large', e.detail.transfer.state));
  try {
    const sent: FileTransfer = await call.files.offer(new File(['hi'], 'hi.txt', { type: 'text/plain' }));
    console.log(sent.via, sent.chunks, call.files.maxBytes <= DEFAULT_MAX_FILE_BYTES);
  } catch (e) {
    if (e instanceof FileError) console.log(e.reason);
  }
  const seq: number | undefined = await call.sendChat('hello');
  console.log(seq, call.chatReady, call.lastSeq, call.pc?.connectionState, call.callToken);
  call.setMuted(true);
  await call.hangup();
}

export function roomFiles(encrypt: (t: string) => Promise<string>, decrypt: (c: string) => Promise<string>, post: (frame: object) => Promise<void>): FileTransfers {
  return new FileTransfers({ encrypt, decrypt, send: post, maxBytes: 10 * 1024 * 1024 });
}

export function withOwnHub(make: (url: string, token: () => Promise<string>) => HubConnectionLike): QrCallingCaller {
  return new QrCallingCaller({ createHub: (accessTokenFactory) => make('https://call.example.org/hubs/calls', accessTokenFactory) });
}

export async function owner(accessToken: string, deviceId: string, callId: string, calleeId: string): Promise<void> {
  const api = new QrCallingApi({ baseUrl: 'https://call.example.org' });
  const hub: HubConnectionLike = createHubConnection({
    signalR, baseUrl: 'https://call.example.org', accessTokenFactory: () => api.hubTicket(accessToken),
    query: `?deviceId=${encodeURIComponent(deviceId)}`,
  });
  let current: Call | null = null;
  routeCallEvents(hub, () => current);
  await keepConnected(hub, { wanted: () => true, onOnline: () => current?.connection('online') });
  await hub.invoke('Accept', callId);
  current = new Call({
    hub, callId, myId: calleeId, role: 'owner', media: 'video',
    iceServers: () => api.iceServers(accessToken, callId), freshIceServers: () => api.iceServers(accessToken, callId),
    persist: (state) => console.log(state.lastSeq, state.direct, state.mediaOff),
    askDirect: (call) => call.media !== 'chat' && confirm('Connect directly?'),
  });
  await current.startAsOwner();
  const status = await api.getCall(callId, accessToken);
  console.log(status.state, status.answeredAt ?? 'not answered', hasTurn(await api.iceServers(accessToken, callId)));
  console.log(icePolicy([{ urls: 'stun:stun.example.org' }], false) === 'ask');
  console.log(sanitizeSdp('v=0', true), sanitizeCandidate({ candidate: '' }, true), parsePayload(' PQC:1:X '));
  try {
    await api.startCallWithProof('pqc:1:…', 'chat', { callerKey: 'k', maxRounds: 2 });
  } catch (e) {
    if (e instanceof ApiError) console.log(e.status, e.code, e.problem.challenge);
    if (e instanceof E2EError) console.log(e.reason);
    console.log(hubErrorCode(e));
  }
}

// Rooms: create, join, chat with pairwise check codes.
import { createRoom, joinRoom, parseRoomLink, type RoomPairDetail } from './qrcalling-client.js';

export async function roomUsage(signalR: SignalRNamespace): Promise<void> {
  const api = new QrCallingApi();
  const created = await createRoom(api, { maxParticipants: 4 });
  const parsed = parseRoomLink(created.link);
  if (!parsed) return;
  const room = await joinRoom({ api, signalR, link: created.link, displayName: 'Anna', on: {
    message: (e) => { if (e.detail.kind === 'text') console.log(e.detail.name, String(e.detail.body)); },
    pair: (e) => { const d: RoomPairDetail = e.detail; if (d.checkCode) console.log(`Compare with ${d.name}: ${d.checkCode}`); },
    ended: (e) => console.log(e.detail.reason),
  } });
  const { to, skipped } = await room.sendText('Hello');
  console.log(to.length, skipped.length, room.nameOf(room.participantId), room.e2e.checkCode(to[0] ?? ''));
  await room.leave();
}

// Signed session QR: checked offline with the host's keys before anything is sent.
import { SessionQrKeys, SessionQrStatus, isSessionQr, parseSessionQr, sessionQrRoomPayload, verifySessionQr, verifySessionQrWith, type SessionQrResult } from './qrcalling-client.js';

export async function signedQr(text: string, api: QrCallingApi): Promise<string | null> {
  if (!isSessionQr(text)) return null;
  const parsed = parseSessionQr(text);
  if (parsed.error !== undefined) return parsed.error;
  const keys = new SessionQrKeys({ maxAgeMs: 60_000 });
  const result: SessionQrResult = await verifySessionQr(text, { keys });
  const again = await verifySessionQrWith(text, await keys.get({ fresh: true }), new Date());
  if (result.status === SessionQrStatus.expired || !again.valid) return `expired at ${parsed.qr.expiresAt.toISOString()}`;
  const created = await createRoom(api, { signed: true });
  return sessionQrRoomPayload(result.qr) ?? created.signedLink ?? created.link;
}
