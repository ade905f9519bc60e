// TypeScript declarations of qrcalling-client.js, QrCalling's JavaScript client (one ES module, no build step, no DOM).
// The wire contract is docs/protocol.md; the end-to-end encrypted chat is docs/e2e.md.

/** A media kind of a code or a call. */
export type MediaKind = 'audio' | 'video' | 'chat';

/** Which side of a call this client is. */
export type CallRole = 'caller' | 'owner';

/** What a call is doing now, from this side. */
export type CallState = 'starting' | 'ringing' | 'connecting' | 'active' | 'reconnecting' | 'rejoining' | 'ended';

/** Why a call ended: the server's end reasons, plus 'elsewhere' and 'failed' for a call an app gives up on. */
export type EndReason =
  | 'rejected' | 'canceled' | 'missed' | 'hangup' | 'timeout' | 'dropped' | 'revoked' | 'elsewhere' | 'failed' | 'ended'
  | (string & {});

/** Why voice and video are off on a call: declined a direct connection / no usable microphone or camera, on this side
 * ('-here') or the other ('-there'). The chat goes on. */
export type MediaOffReason = 'declined-here' | 'declined-there' | 'unavailable-here' | 'unavailable-there';

/** An ICE server in the browser's RTCIceServer shape (TURN entries carry short-lived credentials). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** The problem details body of a refused request. */
export interface ProblemDetails {
  code?: string;
  title?: string;
  detail?: string;
  status?: number;
  /** Present with `proof_required`. */
  challenge?: string;
  /** Present with `proof_required`: leading zero bits required. */
  difficulty?: number;
  [member: string]: unknown;
}

/** A refused REST request. */
export class ApiError extends Error {
  constructor(status: number, code: string | undefined, detail?: string, problem?: ProblemDetails);
  /** The HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** The stable error code (`unavailable`, `rate_limited`, ...); `network` when the server could not be reached. */
  readonly code: string | undefined;
  /** The whole problem details body. */
  readonly problem: ProblemDetails;
}

/** What `POST /scan` answers. */
export interface ScanResult {
  label: string;
  media: MediaKind[];
  /** Whether the owner's devices are online now (additive; absent when the server does not say). */
  reachable?: boolean;
  /** Voice or video may start now (additive). */
  callsAllowed?: boolean;
  /** Only chat now (additive). */
  chatOnly?: boolean;
  /** When the current quiet period ends, ISO-8601 UTC (additive). */
  quietUntil?: string;
}

/** What `POST /calls` answers. */
export interface StartedCall {
  callId: string;
  callerId: string;
  /** A bearer for this call only (`qct_…`); keep it out of URLs and logs. */
  callToken: string;
  expiresAt: string;
  iceServers: IceServer[];
}

/** What `GET /calls/{callId}` answers. */
export interface CallStatus {
  callId: string;
  state: 'ringing' | 'active' | 'ended';
  media: MediaKind;
  createdAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  endReason: EndReason | null;
}

/** Options of one REST request. */
export interface RequestOptions {
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** A bearer: the owner's access token or a call token. */
  token?: string | null;
  /** An Accept header; a non-JSON type makes the result a Blob. */
  accept?: string;
  headers?: Record<string, string>;
}

/** QrCalling's REST API of one host. */
export class QrCallingApi {
  /**
   * @param options.baseUrl the host's origin ('' for the page's own)
   * @param options.prefix the API prefix (default '/api/v1')
   * @param options.fetch a fetch to use instead of the global one
   */
  constructor(options?: { baseUrl?: string; prefix?: string; fetch?: typeof fetch });
  /** One request; resolves with the JSON body (null for none); throws ApiError. */
  request<T = any>(path: string, options?: RequestOptions): Promise<T>;
  /** `POST /scan`: what a code offers. Counts nothing. Takes the payload or its link form. */
  scan(payloadOrLink: string, options?: { callerKey?: string }): Promise<ScanResult>;
  /** `POST /calls` once. */
  startCall(payloadOrLink: string, media: MediaKind, options?: { callerKey?: string; proof?: { challenge: string; solution: string } }): Promise<StartedCall>;
  /** `POST /calls`, solving the proof of work a busy code asks for (429 `proof_required`) up to `maxRounds` times. */
  startCallWithProof(payloadOrLink: string, media: MediaKind, options?: { callerKey?: string; maxRounds?: number; onProof?: (round: number) => void }): Promise<StartedCall>;
  /** `POST /hub-tickets`: a single-use 30-second ticket for one hub connection. */
  hubTicket(token: string): Promise<string>;
  /** `GET /ice-servers`: fresh short-lived TURN credentials (a caller: its call token; an owner: its token and `callId`). */
  iceServers(token: string, callId?: string): Promise<IceServer[]>;
  /** `GET /calls/{callId}`. */
  getCall(callId: string, token: string): Promise<CallStatus>;
}

/** The stable code of a hub error (`invalid_state`, `mailbox_full`, ...), or null. */
export function hubErrorCode(error: unknown): string | null;
/** The payload of a scanned or pasted text (a link's fragment, or the text itself); null when it cannot be decoded. */
export function parsePayload(text: string | null | undefined): string | null;
/** A fresh caller key: 32 random bytes, base64url without padding. */
export function newCallerKey(): string;
/** True for a well-formed caller key. */
export function isCallerKey(key: unknown): key is string;
/** Finds a proof-of-work solution for a busy code's challenge. */
export function solveProof(challenge: string, difficulty: number, onProgress?: (tried: number) => void): Promise<string>;

/** The part of a @microsoft/signalr HubConnection the client uses. */
export interface HubConnectionLike {
  readonly state: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  invoke<T = any>(method: string, ...args: any[]): Promise<T>;
  send(method: string, ...args: any[]): Promise<void>;
  on(event: string, handler: (...args: any[]) => void): void;
  onclose(callback: (error?: Error) => void): void;
  onreconnecting(callback: (error?: Error) => void): void;
  onreconnected(callback: (connectionId?: string) => void): void;
}

/** The part of the @microsoft/signalr namespace the client uses (pass the namespace itself). */
export interface SignalRNamespace {
  HubConnectionBuilder: new () => {
    withUrl(url: string, options: { accessTokenFactory?: () => string | Promise<string> }): any;
  };
  LogLevel: { Warning: number; [level: string]: number };
}

/** Options of createHubConnection. */
export interface HubConnectionOptions {
  /** The @microsoft/signalr namespace (the module reads no global). */
  signalR: SignalRNamespace;
  /** The host's origin ('' for the page's own). */
  baseUrl?: string;
  /** The hub path (default '/hubs/calls'). */
  hubPath?: string;
  /** Gives the access token of each (re)connect: best a fresh hub ticket (QrCallingApi.hubTicket). */
  accessTokenFactory: () => string | Promise<string>;
  /** Appended to the hub URL, e.g. `?deviceId=…&deviceCredential=…` for an owner device. */
  query?: string;
  /** Automatic reconnect delays in milliseconds. */
  reconnectDelays?: number[];
  logLevel?: number;
}

/** A SignalR connection to the hub, not started. */
export function createHubConnection(options: HubConnectionOptions): HubConnectionLike;

/** Keeps a hub connection up while `wanted()` holds: starts it, retrying every `delayMs` after a failure. */
export function keepConnected(hub: HubConnectionLike, options?: {
  wanted?: () => boolean;
  delayMs?: number;
  onOnline?: () => void | Promise<void>;
  onOffline?: () => void;
}): Promise<void>;

/** The microphone or camera could not be used; the message says in words what to do. */
export class MediaProblem extends Error {
  constructor(kind: MediaProblem['kind'], message: string);
  readonly kind: 'unsupported' | 'denied' | 'missing' | 'busy' | 'failed';
}

/** Asks for the microphone (and the camera for video); throws MediaProblem. */
export function acquireMedia(media: MediaKind): Promise<MediaStream>;

/** What a reloaded page kept of its call, to rejoin it. */
export interface RestoredCall {
  /** The last seq handled: entries up to it are not handled again. */
  lastSeq?: number;
  /** The answer to the direct-connection question on this call. */
  direct?: boolean;
  mediaOff?: MediaOffReason | null;
  /** When the call was answered (GET /calls/{callId}): the call's duration counts from there. */
  answeredAt?: string | null;
}

/** What a call keeps for a reload (the `persist` option). */
export interface PersistedCallState {
  lastSeq: number;
  direct: boolean | undefined;
  mediaOff: MediaOffReason | null;
}

/** Options of a Call. */
export interface CallOptions {
  /** A hub connection (started, or started soon) of this side. */
  hub: HubConnectionLike;
  callId: string;
  /** This side's anonymous id in the call: callerId (caller) or calleeId (owner). */
  myId: string;
  role: CallRole;
  media: MediaKind;
  /** The code's label. */
  label?: string;
  /** False when the code does not allow chat. */
  chatAllowed?: boolean;
  /** The call's ICE servers (asked once). */
  iceServers?: () => Promise<IceServer[] | null>;
  /** Fresh ICE servers before an ICE restart or a new connection (TURN credentials are short-lived). */
  freshIceServers?: () => Promise<IceServer[] | null>;
  /** Microphone/camera already acquired. */
  localStream?: MediaStream | null;
  /** A page rejoining its call after a reload. */
  restored?: RestoredCall;
  /** Called whenever what a reload needs changes. */
  persist?: (state: PersistedCallState) => void;
  /** Relay-only ICE even without a TURN server in the list (calls then go without media rather than direct). */
  forceRelay?: boolean;
  /**
   * Without TURN, a direct connection shows each side's IP address to the other: asked once per call before any
   * RTCPeerConnection exists. Resolve true to connect directly; without this option the answer is no (chat only).
   */
  askDirect?: (call: Call) => boolean | Promise<boolean>;
  /** Per-file cap for files sent and received in this call (default DEFAULT_MAX_FILE_BYTES, 25 MiB). */
  maxFileBytes?: number;
  /** Chunks a file sender keeps in flight beyond the receiver's last progress report (default 4). */
  fileWindow?: number;
  /** False: file chunks always go through the relay, never over a data channel (default true). */
  filesDirect?: boolean;
}

/** The encryption of the chat: setting up, agreed (with the check code to compare), or failed. */
export type E2EStatusDetail =
  | { status: 'pending'; reset: boolean }
  | { status: 'failed'; reason: string }
  | {
    status: 'established';
    /** Six digits the two people compare. */
    checkCode: string;
    /** True when it also covers the voice/video connection's DTLS fingerprints. */
    coversMedia: boolean;
    /** True when it replaced another code on this call (the other side reloaded, or someone interfered). */
    changed: boolean;
    previousCheckCode: string | null;
  };

/** The details of each event a Call dispatches (as CustomEvent). */
export interface CallEventMap {
  /** The call's state changed. */
  statechange: CustomEvent<{ state: CallState }>;
  /** The owner accepted (once). */
  accepted: CustomEvent<{}>;
  /** The call ended; `byMe` when this side hung up; `durationMs` since it was answered (null if it never was). */
  ended: CustomEvent<{ reason: EndReason; byMe: boolean; durationMs: number | null }>;
  /** A chat message from the other side, decrypted. */
  chat: CustomEvent<{ text: string }>;
  /** A chat message could not be shown: messages missed, a replay refused, or undecryptable. */
  chatproblem: CustomEvent<{ kind: 'missed' | 'replay' | 'undecryptable'; count?: number; reason?: string }>;
  /** The other side is typing, or stopped. */
  typing: CustomEvent<{ isTyping: boolean }>;
  /** The chat's encryption. */
  e2e: CustomEvent<E2EStatusDetail>;
  /** No voice or video on this call any more; the chat goes on. */
  mediaoff: CustomEvent<{ reason: MediaOffReason }>;
  /** The microphone/camera could not be used: call retryMedia() or continueWithoutMedia(). */
  mediaproblem: CustomEvent<{ problem: MediaProblem | Error }>;
  /** Voice/video is being set up; `relayOnly` false means a direct connection that shows IP addresses. */
  mediasetup: CustomEvent<{ relayOnly: boolean }>;
  /** The local microphone/camera stream (new or replaced). */
  localstream: CustomEvent<{ stream: MediaStream }>;
  /** A remote track arrived. */
  remotetrack: CustomEvent<{ track: MediaStreamTrack; streams: readonly MediaStream[] }>;
  /** Something failed that the user should hear about; the call goes on. */
  warning: CustomEvent<{ kind: 'media-failed' | 'fingerprint-mismatch'; error?: unknown }>;
  /** A key-exchange message, chat message or SDP was refused (E2E reason code, or 'fingerprint'). */
  refused: CustomEvent<{ reason: string }>;
  /** The other side's presence. */
  peer: CustomEvent<{ present: boolean }>;
  /** This side's hub connection. */
  connection: CustomEvent<{ state: 'reconnecting' | 'online' }>;
  /** A signal or chat entry was handled (after de-duplication). */
  entry: CustomEvent<{ kind: 'signal' | 'chat'; type?: string; seq?: number }>;
}

/** Listeners of a Call's events, by type. */
export type CallListeners = { [K in keyof CallEventMap]?: (this: Call, event: CallEventMap[K]) => void };

/** One call on either side: signaling, WebRTC, Resume and seq de-duplication, acknowledgements and the E2E chat. */
export class Call extends EventTarget {
  constructor(options: CallOptions);
  readonly callId: string;
  readonly myId: string;
  readonly role: CallRole;
  readonly media: MediaKind;
  readonly label: string;
  readonly chatAllowed: boolean;
  /** True for voice and video calls. */
  readonly withMedia: boolean;
  readonly state: CallState;
  readonly accepted: boolean;
  readonly ended: boolean;
  readonly endReason: EndReason | null;
  /** Why media is off, or null. */
  readonly mediaOff: MediaOffReason | null;
  /** The highest seq handled. */
  readonly lastSeq: number;
  /** When the call was answered (ms since the epoch), once active. */
  readonly startedAt: number | null;
  /** The check code last announced, or null. */
  readonly checkCode: string | null;
  /** True once the chat keys are agreed (and the call has not ended). */
  readonly chatReady: boolean;
  /** End-to-end encrypted files of this call (offer once chatReady). */
  readonly files: FileTransfers;
  /** The current RTCPeerConnection, or null. */
  readonly pc: RTCPeerConnection | null;
  /** The id of the caller's RTCPeerConnection of the current negotiation. */
  readonly pcId: string | null;
  readonly localStream: MediaStream | null;
  /** The call's restored state (a rejoin after a reload); may be set before starting. */
  restored: RestoredCall | null;
  /** Set by QrCallingCaller.call: the call token (a bearer for this call's REST routes). */
  callToken?: string;
  /** Set by QrCallingCaller.call. */
  expiresAt?: string;

  /** Caller: sends its key commitment and, for voice/video, sets up media and the (early) offer. */
  startAsCaller(options?: { accepted?: boolean }): Promise<void>;
  /** Owner, after Accept: answers the key exchange and, for voice/video, the caller's offer. */
  startAsOwner(): Promise<void>;
  /** Owner, after a reload mid-call (the same device): a new key exchange, Resume, and a new connection for media. */
  rejoinAsOwner(): Promise<void>;
  /** Resume(callId, lastSeq) (or from 0): what was missed; repeats are de-duplicated by seq. */
  resume(fromStart?: boolean): Promise<void>;
  /** Hands a hub event or mailbox entry to the call (routeCallEvents does this). */
  enqueue(kind: 'signal' | 'chat', event: { seq?: number; from?: string; type?: string; data?: unknown; ciphertext?: string }): Promise<void>;
  /** Encrypts and sends a chat message; resolves with its seq. Throws before the keys are agreed. */
  sendChat(text: string): Promise<number | undefined>;
  /** Tells the other side whether this side is typing. */
  sendTyping(isTyping: boolean): Promise<void>;
  /** Sends a signal, sending it again while the other side's mailbox is full. */
  signal(type: 'offer' | 'answer' | 'ice-candidate' | 'key-exchange' | 'renegotiate' | 'file', data: unknown): Promise<number | undefined>;
  /** After a `mediaproblem`: tries the microphone/camera again. */
  retryMedia(): Promise<void>;
  /** After a `mediaproblem`: carries on in chat (the other side is told). */
  continueWithoutMedia(): Promise<void>;
  /** Caller: an ICE restart with fresh TURN credentials. */
  restartIce(): Promise<void>;
  /** Mutes (true), unmutes (false) or toggles the microphone; returns true when muted. */
  setMuted(muted?: boolean): boolean;
  /** Turns the camera off (true), on (false) or toggles it; returns true when off. */
  setCameraOff(off?: boolean): boolean;
  /** Replaces a local track with one from another device, without renegotiation. */
  replaceLocalTrack(current: MediaStreamTrack, constraints: boolean | MediaTrackConstraints): Promise<MediaStreamTrack>;
  /** Hangs up (or cancels while ringing). */
  hangup(): Promise<void>;
  /** Ends the call on this side only (the app gives up on it). */
  end(reason: EndReason, byMe?: boolean): void;
  /** The other side's presence changed (routeCallEvents calls it). */
  peer(present: boolean): void;
  /** This side's hub connection changed (routeCallEvents calls it; call it with 'online' after starting a connection
   *  that had closed for good): 'online' resumes the call. Live entries that arrive meanwhile wait for Resume's answer,
   *  so the call handles everything in seq order. Resolves once the resume is handed on. */
  connection(state: 'reconnecting' | 'online'): Promise<void>;

  addEventListener<K extends keyof CallEventMap>(type: K, listener: (this: Call, event: CallEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof CallEventMap>(type: K, listener: (this: Call, event: CallEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** Wires a hub connection's per-call events (Signal, Chat, Typing, CallAccepted, CallEnded, PeerLeft, PeerJoined, and
 * its reconnects) to whichever call `currentCall()` returns. */
export function routeCallEvents(hub: HubConnectionLike, currentCall: () => Call | null | undefined): void;

/** Options of QrCallingCaller. */
export interface CallerOptions {
  /** The @microsoft/signalr namespace (or give `createHub`). */
  signalR?: SignalRNamespace;
  /** Makes the hub connection of a call instead (e.g. with another transport or protocol); it must take its access
   * token from `accessTokenFactory` (a fresh hub ticket per connect). */
  createHub?: (accessTokenFactory: () => Promise<string>) => HubConnectionLike;
  /** The host's origin ('' for the page's own). */
  baseUrl?: string;
  api?: QrCallingApi;
  /** This browser's caller key (kept by the app, so an owner can block it on one code); a new one when left out. */
  callerKey?: string;
  forceRelay?: boolean;
  askDirect?: CallOptions['askDirect'];
}

/** The caller's side in a few calls: scan a code, start and connect a call. */
export class QrCallingCaller {
  constructor(options: CallerOptions);
  readonly api: QrCallingApi;
  readonly callerKey: string;
  /** `POST /scan`. */
  scan(payloadOrLink: string): Promise<ScanResult>;
  /** Starts a call (solving a busy code's proof of work), connects the hub with hub tickets and sends the key
   * commitment; the hub stops when the call ends. */
  call(payloadOrLink: string, media: MediaKind, options?: {
    /** Event listeners by type, added before anything can happen (the owner may answer before this resolves). */
    on?: CallListeners;
    /** Microphone/camera already acquired (voice or video). */
    localStream?: MediaStream;
    onProof?: (round: number) => void;
    askDirect?: CallOptions['askDirect'];
    persist?: CallOptions['persist'];
  }): Promise<Call>;
}

/** True when the list holds a TURN server. */
export function hasTurn(iceServers: readonly IceServer[] | null | undefined): boolean;
/** 'relay' when media can go through a relay (TURN, or forced); otherwise 'ask' (a direct connection needs consent). */
export function icePolicy(iceServers: readonly IceServer[] | null | undefined, forceRelay?: boolean): 'relay' | 'ask';
/** The `typ` of a candidate line, or ''. */
export function candidateType(candidate: string | null | undefined): string;
/** A candidate line as it may be sent (null: it must not leave this device). */
export function sanitizeCandidateLine(candidate: string, relayOnly: boolean): string | null;
/** An RTCIceCandidateInit as it may be sent, or null. */
export function sanitizeCandidate(init: RTCIceCandidateInit, relayOnly: boolean): RTCIceCandidateInit | null;
/** An SDP as it may be sent. */
export function sanitizeSdp(sdp: string, relayOnly: boolean): string;

/** A refused key-exchange or chat message; `reason` is a stable code shared with the .NET client. */
export class E2EError extends Error {
  constructor(reason: string, message: string);
  readonly reason: string;
}

/** One side's E2E v1 session (docs/e2e.md). */
export class E2ESession {
  constructor(options: { role: 'initiator' | 'responder'; contextId: string; localFingerprint?: string });
  readonly established: boolean;
  readonly checkCode: string | null;
  readonly localFingerprint: string;
  readonly peerFingerprint: string | null;
  /** Starts a (new) key exchange: the message to send as `key-exchange` data. */
  start(): Promise<object>;
  /** Handles the other side's key-exchange message; throws E2EError. */
  receive(data: unknown): Promise<{ reply?: object | null; established: boolean; reset?: boolean }>;
  /** Encrypts a chat message: the ciphertext for the hub's Chat. */
  encrypt(text: string): Promise<string>;
  /** Decrypts a chat ciphertext; `missed` counts messages skipped. Throws E2EError. */
  decrypt(ciphertext: string): Promise<{ text: string; missed: number }>;
}

/** The DTLS fingerprint of an SDP ("sha-256 AB:CD:…") when its fingerprint lines agree, else null. */
export function fingerprintFromSdp(sdp: string | null | undefined): string | null;
/** The DTLS fingerprint of a certificate. */
export function certificateFingerprint(certificate: RTCCertificate): string;

// ---- Rooms (docs/protocol.md "Rooms (additive)", docs/e2e.md "Rooms") ----

/** `POST /rooms` answers this. */
export interface CreatedRoom {
  roomId: string;
  /** `<host>/room#PQR:1:<ROOMID>:<SECRET>`: whoever holds it can join. */
  link: string;
  expiresAt: string;
  maxParticipants: number;
  /** With `signed: true`: the signed session QR `PQS:1:ROOM:…` of the room. */
  signedPayload?: string;
  /** With `signed: true`: `<host>/room#PQS:1:ROOM:…`. */
  signedLink?: string;
  /** With `signed: true`: the id of the key that signed it. */
  keyId?: string;
}

/** `POST /rooms/join` answers this. */
export interface JoinedRoom {
  roomId: string;
  participantId: string;
  /** The bearer credential of this participant in this room (keep it to rejoin after a reload). */
  participantToken: string;
  expiresAt: string;
  maxParticipants: number;
}

/** A participant as `GET /rooms/{roomId}` and the hub's events describe it. */
export interface RoomParticipantInfo {
  participantId: string;
  displayName: string | null;
  joinedAt: string;
  publicKey?: string | null;
}

/** The parts of a room link or payload (upper case), or null. */
export function parseRoomLink(text: string | null | undefined): { roomId: string; secret: string; payload: string } | null;
/** `POST /rooms`, solving the proof of work a busy host asks for. */
export function createRoom(api: QrCallingApi, options?: { expiresInSeconds?: number; maxParticipants?: number; signed?: boolean; maxRounds?: number; onProof?: (round: number) => void }): Promise<CreatedRoom>;
/** `POST /rooms/join` (with `participantToken`: rejoin as the same participant after a reload). */
export function joinRoomRequest(api: QrCallingApi, link: string, options?: { displayName?: string; participantToken?: string }): Promise<JoinedRoom>;
/** `GET /rooms/{roomId}`. */
export function getRoom(api: QrCallingApi, roomId: string, participantToken: string): Promise<{ roomId: string; expiresAt: string; maxParticipants: number; participants: RoomParticipantInfo[] }>;
/** `POST /rooms/{roomId}/leave`. */
export function leaveRoomRequest(api: QrCallingApi, roomId: string, participantToken: string): Promise<null>;
/** `POST /rooms/{roomId}/qr`: the room link's QR image. */
export function roomQr(api: QrCallingApi, roomId: string, participantToken: string, link: string, format?: 'png' | 'svg'): Promise<Blob>;

/** 'initiator' when `myId` sorts before `peerId` (UTF-16 code units), else 'responder'. */
export function roomPairRole(myId: string, peerId: string): 'initiator' | 'responder';
/** The E2E v1 context id of a pair: `room:<roomId>:<initiatorId>:<responderId>`. */
export function roomContextId(roomId: string, idA: string, idB: string): string;
/** The plaintext inside a room ciphertext: `{"v":1,"kind":…,"body":…}`. */
export function roomPlaintext(kind: string, body: unknown): string;

/** A pair's key-exchange progress. `changed`: an established code was replaced (show it, never silently). */
export interface RoomPairDetail {
  peerId: string;
  status: 'exchanging' | 'established' | 'reset' | 'failed' | 'removed';
  checkCode: string | null;
  changed: boolean;
  reason?: string;
  /** Set by Room: the peer's display name or "Participant N". */
  name?: string;
}

/** The pairwise E2E v1 sessions of one participant in one room. */
export class RoomE2E extends EventTarget {
  constructor(options: { roomId: string; myId: string });
  readonly roomId: string;
  readonly myId: string;
  role(peerId: string): 'initiator' | 'responder';
  checkCode(peerId: string): string | null;
  established(peerId: string): boolean;
  readonly readyPeers: string[];
  /** Starts (over) the exchange with a peer: the `key` message to send it. */
  start(peerId: string): Promise<object>;
  /** Handles a peer's `key` message; throws E2EError for a refused one. */
  receiveKey(peerId: string, data: unknown): Promise<{ reply: object | null; established: boolean; checkCode: string | null; changed: boolean }>;
  /** One ciphertext per peer with agreed keys; `skipped`: peers without keys yet. */
  encryptFor(peerIds: readonly string[], kind: string, body: unknown): Promise<{ ciphertexts: Record<string, string>; skipped: string[] }>;
  /** Decrypts a peer's ciphertext relayed under `kind`; throws E2EError. */
  decryptFrom(peerId: string, kind: string, ciphertext: string): Promise<{ body: unknown; missed: number }>;
  /** Forgets a peer that left. */
  remove(peerId: string): void;
  addEventListener(type: 'pair', listener: (event: CustomEvent<RoomPairDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

/** A participant as a Room lists it. */
export interface RoomPerson {
  participantId: string;
  /** The display name, or "Participant N". */
  name: string;
  displayName: string | null;
  present: boolean;
  me: boolean;
  checkCode: string | null;
}

/** Events of a Room. */
export interface RoomEventMap {
  joined: CustomEvent<{ participants: RoomPerson[] }>;
  participants: CustomEvent<{ participants: RoomPerson[] }>;
  'participant-joined': CustomEvent<{ participantId: string; name: string; at: string }>;
  'participant-left': CustomEvent<{ participantId: string; name: string; at: string }>;
  /** A decrypted message; `missed`: messages of that sender that did not arrive before it. */
  message: CustomEvent<{ seq: number; from: string; name: string; kind: string; body: unknown; at: string; missed: number }>;
  /** Messages that could not be decrypted (`reason` 'reloaded': from before this page's keys). */
  undecryptable: CustomEvent<{ count: number; seq?: number; from?: string; name?: string; reason: string }>;
  sent: CustomEvent<{ clientMessageId: string; seq: number; at: string; to: string[] }>;
  typing: CustomEvent<{ participantId: string; name: string; at: string }>;
  pair: CustomEvent<RoomPairDetail>;
  connection: CustomEvent<{ state: 'online' | 'reconnecting' }>;
  /** 'expired' | 'idle' | 'empty' (the server's), 'left' (this participant), 'unavailable' (refused on reconnect). */
  ended: CustomEvent<{ reason: string }>;
  problem: CustomEvent<{ what: string; code: string; participantId?: string }>;
}

/** Event listeners of a Room by type. */
export type RoomListeners = { [K in keyof RoomEventMap]?: (this: Room, event: RoomEventMap[K]) => void };

/** One participant in one room: hub connection, participants, pairwise E2E sessions. */
export class Room extends EventTarget {
  readonly hub: HubConnectionLike;
  readonly roomId: string;
  readonly participantId: string;
  readonly participantToken: string;
  readonly expiresAt: string;
  readonly maxParticipants: number;
  readonly e2e: RoomE2E;
  /** The highest seq handled. */
  readonly lastSeq: number;
  /** Why the room ended for this participant, or null. */
  readonly ended: string | null;
  /** The other participants present now. */
  readonly peers: string[];
  /** A participant's display name, or "Participant N". */
  nameOf(participantId: string): string;
  list(): RoomPerson[];
  /** Sends to every present participant with agreed keys; `skipped`: those without keys yet. Throws (`code` 'alone',
   * 'no_keys', or a hub error) when nobody can receive it. */
  send(body: unknown, kind?: string): Promise<{ seq: number; at: string; to: string[]; skipped: string[] }>;
  sendText(text: string): Promise<{ seq: number; at: string; to: string[]; skipped: string[] }>;
  /** Runs `operation` after every send queued before it (encrypted sends reach the hub in counter order). */
  queueSend<T>(operation: () => Promise<T>): Promise<T>;
  /** Relays per-recipient texts the caller encrypted as one `Send` of `kind`; `retry(attempt, code)` gives a delay in ms
   * before trying a refused send again, or null to give up. */
  relay(kind: string, ciphertexts: Record<string, string>, options?: { retry?: (attempt: number, code: string) => number | null }): Promise<{ seq: number; at: string }>;
  /** Entries of `kind` go to `handler` (awaited, in order) instead of being decrypted as `message`s. */
  handleKind(kind: string, handler: (entry: { seq: number; from: string; kind: string; ciphertext: string; at: string }) => Promise<void>): void;
  typing(): void;
  /** Leaves for good: the token stops working. */
  leave(): Promise<void>;
  addEventListener<K extends keyof RoomEventMap>(type: K, listener: (this: Room, event: RoomEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

/** Joins (or rejoins, with `participantToken`) and connects the room's hub; resolves once connected. */
export function joinRoom(options: {
  api: QrCallingApi;
  signalR?: SignalRNamespace;
  createHub?: (accessTokenFactory: () => Promise<string>) => HubConnectionLike;
  baseUrl?: string;
  link: string;
  displayName?: string;
  participantToken?: string;
  /** What a reloaded page handled before (its entries are skipped). */
  restored?: { lastSeq: number };
  on?: RoomListeners;
}): Promise<Room>;
/** Files v1 (docs/e2e.md "Files"): one file sent or received. */
export interface FileTransfer {
  /** The file id (16 bytes, base64url). */
  readonly id: string;
  readonly direction: 'send' | 'receive';
  /** The file name, without folders or control characters. */
  readonly name: string;
  readonly size: number;
  /** Its media type as the sender gave it (may be empty). */
  readonly type: string;
  readonly chunks: number;
  readonly state: 'offered' | 'sending' | 'receiving' | 'complete' | 'delivered' | 'declined' | 'failed';
  /** Chunks sent (sender) or received and checked (receiver). */
  readonly next: number;
  /** Sender: chunks the receiver confirmed. */
  readonly acked?: number;
  /** Receiver: plaintext bytes received. */
  readonly received?: number;
  /** Sender: where its chunks go, through the server's relay or over the call's data channel. */
  readonly via?: 'relay' | 'direct';
  /** Receiver: the verified file, once complete. */
  readonly blob?: Blob;
  /** Why it failed, once failed. */
  readonly reason?: FileFailure;
}

/** Why a file transfer failed. */
export type FileFailure = 'declined' | 'too-large' | 'cancelled' | 'cancelled-here' | 'corrupt' | 'connection';

/** The details of each event FileTransfers dispatches (as CustomEvent). */
export interface FileEventMap {
  /** The other side offers a file: accept(id) or decline(id). */
  offer: CustomEvent<{ transfer: FileTransfer }>;
  /** A transfer moved on (or stalled: the connection is lost and it will try again). */
  progress: CustomEvent<{ transfer: FileTransfer; stalled?: boolean }>;
  /** Receiver: the whole file arrived and matches its hash. */
  complete: CustomEvent<{ transfer: FileTransfer; blob: Blob }>;
  /** Sender: the receiver has the whole file, checked. */
  delivered: CustomEvent<{ transfer: FileTransfer }>;
  /** Sender: the receiver saved the file (the download notification). */
  saved: CustomEvent<{ transfer: FileTransfer }>;
  /** The transfer ended without the file. */
  failed: CustomEvent<{ transfer: FileTransfer; reason: FileFailure }>;
  /** A file frame was refused (stable reason: malformed, version, unknown, unexpected, order, authentication, size, hash, or an E2E reason). */
  refused: CustomEvent<{ reason: string }>;
}

/** A refused file frame or failed transfer; `reason` is a stable code shared with the .NET client. */
export class FileError extends Error {
  constructor(reason: string, message: string);
  readonly reason: string;
}

/** The file transfers of one conversation, over any transport: control messages through `encrypt`/`decrypt` (an E2E v1
 *  session) and `send`, chunks through `send` or an open data channel. */
export class FileTransfers extends EventTarget {
  constructor(options: {
    encrypt: (text: string) => Promise<string>;
    decrypt?: (ciphertext: string) => Promise<string>;
    /** Sends a frame, {m: ciphertext} or {c: base64 chunk} (a call sends it as a `file` signal); resolves once taken. */
    send: (frame: { m: string } | { c: string }) => Promise<unknown>;
    maxBytes?: number;
    chunkBytes?: number;
    window?: number;
  });
  readonly maxBytes: number;
  readonly transfers: ReadonlyMap<string, FileTransfer>;
  /** Chunks of transfers that start from now on go over this open data channel (null: the relay). */
  useChannel(channel: RTCDataChannel | null): void;
  /** Offers a file; throws FileError 'too-large' over the cap (nothing sent). */
  offer(file: Blob & { name?: string } | { name: string; type?: string; bytes: Uint8Array }): Promise<FileTransfer>;
  accept(id: string): Promise<void>;
  decline(id: string): Promise<void>;
  cancel(id: string): Promise<void>;
  /** Receiver: tells the sender the file was saved. */
  markSaved(id: string): Promise<void>;
  /** A `file` frame from the relay, in arrival order. */
  receiveFrame(frame: unknown): Promise<void>;
  /** A chunk frame from the relay or the data channel. */
  receiveChunk(frame: Uint8Array): Promise<void>;
  /** After this side's connection came back (and what was missed was handled): says again what may have been lost
   *  with it (a receiver's progress, done, saved) and lets a sender's chunks go on. `Call` does this itself. */
  reconnected(): Promise<void>;
  close(): void;
  addEventListener<K extends keyof FileEventMap>(type: K, listener: (this: FileTransfers, event: FileEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

/** Plaintext bytes per file chunk (32 KiB). */
export const CHUNK_BYTES: number;
/** Default per-file cap (25 MiB). */
export const DEFAULT_MAX_FILE_BYTES: number;
/** "2.1 MB", "340 KB", "12 bytes". */
export function formatSize(bytes: number): string;
/** A chunk frame: header ‖ AES-GCM ciphertext ‖ tag under the file key (32 bytes or a CryptoKey). */
export function sealChunk(key: Uint8Array | CryptoKey, fileId: Uint8Array, index: number, plaintext: Uint8Array): Promise<Uint8Array>;
/** A chunk frame's plaintext; throws FileError. */
export function openChunk(key: Uint8Array | CryptoKey, frame: Uint8Array): Promise<Uint8Array>;
/** SHA-256 of bytes. */
export function sha256(bytes: Uint8Array): Promise<Uint8Array>;

/** Room entry kind of file control messages (E2E ciphertext of one pair). */
export const ROOM_FILE_KIND: string;
/** Room entry kind of file chunks and progress reports (dropped by the server once acknowledged). */
export const ROOM_FILE_CHUNK_KIND: string;
/** Delay in ms before a refused room file send is tried again (`rate_limited`, `storage_unavailable`), or null. */
export function roomFileBackoff(attempt: number, code: string): number | null;

/** The details of each event RoomFiles dispatches (as CustomEvent). */
export interface RoomFilesEventMap {
  /** A pair's FileTransfers was made (listen to it now: it has seen no frame yet). */
  files: CustomEvent<{ peerId: string; files: FileTransfers }>;
  /** A file frame from `peerId` was refused. */
  refused: CustomEvent<{ peerId: string; reason: string }>;
}

/** Files v1 in a room: one FileTransfers per other participant over that pair's E2E session, relayed by the room hub
 *  (rooms have no WebRTC). */
export class RoomFiles extends EventTarget {
  constructor(room: Room, options?: { maxBytes?: number; window?: number });
  readonly maxBytes: number;
  /** The FileTransfers of the pair with `peerId` (made when first needed). */
  of(peerId: string): FileTransfers;
  /** Offers a file to every present participant with agreed keys, one transfer each. Throws FileError 'too-large' over
   *  the cap, an Error with `code` 'alone' or 'no_keys' when nobody can get it. */
  offer(file: Blob & { name: string }): Promise<{ transfers: { peerId: string; transfer: FileTransfer }[]; skipped: string[]; failed: string[] }>;
  addEventListener<K extends keyof RoomFilesEventMap>(type: K, listener: (this: RoomFiles, event: RoomFilesEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

// ---- signed session QR (client/session-qr.js; docs/protocol.md "Signed session QR (additive)") ----

/** `PQS:1:` (parsing ignores case). */
export const SESSION_QR_PREFIX: string;
/** The outcome of a check, as the .NET SessionQrStatus. */
export type SessionQrStatusName = 'valid' | 'malformed' | 'unknown-key' | 'bad-signature' | 'expired';
export const SessionQrStatus: Readonly<{ valid: 'valid'; malformed: 'malformed'; unknownKey: 'unknown-key'; badSignature: 'bad-signature'; expired: 'expired' }>;
/** A parsed signed session QR (upper case; `payload` is canonical). */
export interface SessionQr {
  kind: string;
  keyId: string;
  expiresAt: Date;
  expirySeconds: number;
  subject: string;
  payload: string;
}
/** The result of a check; trust `qr` only when `valid`. `error` says why a text is malformed (never the text). */
export interface SessionQrResult {
  status: SessionQrStatusName;
  valid: boolean;
  qr: SessionQr | null;
  error?: string;
}
/** A verification key: its id and the imported WebCrypto key. */
export interface SessionQrKey {
  kid: string;
  key: CryptoKey;
}
/** True when the text (payload or link) starts like a signed session QR. */
export function isSessionQr(text: unknown): boolean;
/** Parses a payload or link (any case, white space trimmed, after the last '#', canonical base32); the shape only. */
export function parseSessionQr(text: unknown): { qr: SessionQr; signature: Uint8Array; error?: undefined } | { error: string; qr?: undefined };
/** `PQR:1:<roomId>:<secret>` of a ROOM QR; null for another kind. */
export function sessionQrRoomPayload(qr: SessionQr | null | undefined): string | null;
/** base32 of the first 5 bytes of SHA-256 over the DER SPKI. */
export function sessionQrKeyId(spki: Uint8Array): Promise<string>;
/** Imports `GET /verify-qr/keys`'s `keys` (ES256, SPKI base64url); bad entries are left out. */
export function importSessionQrKeys(list: ReadonlyArray<{ kid: string; alg: string; spki: string }> | null | undefined): Promise<SessionQrKey[]>;
/** Verifies against given keys at `now` (default: the current time); never throws for any text. */
export function verifySessionQrWith(text: unknown, keys: readonly SessionQrKey[], now?: Date | number): Promise<SessionQrResult>;
/** A host's keys from GET /api/v1/verify-qr/keys, cached for `maxAgeMs` (1 hour). */
export class SessionQrKeys {
  constructor(options?: { baseUrl?: string; prefix?: string; fetch?: typeof fetch; maxAgeMs?: number; clock?: () => number });
  /** Cached while fresh; `fresh: true` fetches again. Throws an Error with `code: 'network'` when unreachable. */
  get(options?: { fresh?: boolean }): Promise<SessionQrKey[]>;
}
/** Verifies offline with the host's keys (cached, fetched again once for an unknown key id). */
export function verifySessionQr(text: unknown, options?: { keys?: SessionQrKeys; baseUrl?: string; now?: Date | number }): Promise<SessionQrResult>;
