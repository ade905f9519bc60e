// QrCalling's REST API (/api/v1) for both sides and the hub connection. No DOM: a page or app renders.
// Payloads only ever travel in request bodies; call tokens only in the Authorization header (and, for the hub, traded
// for a single-use hub ticket first).

/** A refused request: `status` (0 when the server could not be reached), the stable `code` of the problem details
 * (`network` when unreachable) and the whole problem body (e.g. a proof-of-work challenge). */
export class ApiError extends Error {
  constructor(status, code, detail, problem = {}) {
    super(detail || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.problem = problem;
  }
}

/** The code of a hub error: SignalR shows a server HubException as "... HubException: <code>: <detail>". */
export function hubErrorCode(error) {
  const message = String(error?.message ?? '');
  const match = /HubException: ([a-z_]+):/.exec(message) ?? /^([a-z_]+):/.exec(message);
  return match ? match[1] : null;
}

/** The payload from a scanned or pasted text: a link's fragment, or the text itself (trimmed); null when it cannot be
 * decoded. The server checks the payload itself. */
export function parsePayload(text) {
  const trimmed = (text || '').trim();
  const hash = trimmed.indexOf('#');
  try {
    return decodeURIComponent(hash >= 0 ? trimmed.slice(hash + 1) : trimmed).trim();
  } catch {
    return null;
  }
}

/** A fresh caller key: 32 random bytes, base64url without padding (43 characters). Keep it to be blockable per code. */
export function newCallerKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** True for a well-formed caller key (43 base64url characters of 32 bytes). */
export function isCallerKey(key) {
  return typeof key === 'string' && /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(key);
}

function leadingZeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) { bits += 8; continue; }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** The REST API of one host. `baseUrl` '' means the page's own origin. */
export class QrCallingApi {
  constructor({ baseUrl = '', prefix = '/api/v1', fetch: fetchImpl } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.prefix = prefix;
    this.fetchImpl = fetchImpl ?? ((...args) => globalThis.fetch(...args));
  }

  /** One request; resolves with the JSON body (null for none, a Blob when `accept` is not JSON), throws ApiError. */
  async request(path, { method = 'GET', body, token, accept, headers: extra } = {}) {
    const headers = { ...(extra ?? {}) };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers['Authorization'] = `Bearer ${token}`;
    if (accept) headers['Accept'] = accept;
    let response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${this.prefix}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new ApiError(0, 'network', 'No connection to the server.');
    }
    if (!response.ok) {
      let problem = {};
      try { problem = await response.json(); } catch { /* not JSON */ }
      throw new ApiError(response.status, problem.code, problem.detail || problem.title, problem);
    }
    if (accept && !accept.includes('json')) return response.blob();
    if (response.status === 204 || response.headers.get('content-length') === '0') return null;
    const type = response.headers.get('content-type') || '';
    return type.includes('json') ? response.json() : null;
  }

  /** POST /scan: what a code offers (`{label, media, ...}`); counts nothing. Accepts the payload or its link form. */
  scan(payloadOrLink, { callerKey } = {}) {
    const body = { payload: parsePayload(payloadOrLink) ?? String(payloadOrLink) };
    if (callerKey) body.callerKey = callerKey;
    return this.request('/scan', { method: 'POST', body });
  }

  /** POST /calls once: `{callId, callerId, callToken, expiresAt, iceServers}`. */
  startCall(payloadOrLink, media, { callerKey, proof } = {}) {
    const body = { payload: parsePayload(payloadOrLink) ?? String(payloadOrLink), media };
    if (callerKey) body.callerKey = callerKey;
    if (proof) body.proof = proof;
    return this.request('/calls', { method: 'POST', body });
  }

  /** POST /calls; when the code is busy (429 proof_required) solves the proof of work and asks again, up to
   * `maxRounds` times. `onProof()` is told before each solving round. */
  async startCallWithProof(payloadOrLink, media, { callerKey, maxRounds = 3, onProof } = {}) {
    let proof;
    for (let round = 0; ; round++) {
      try {
        return await this.startCall(payloadOrLink, media, { callerKey, proof });
      } catch (e) {
        const { challenge, difficulty } = e?.problem ?? {};
        if (e?.code !== 'proof_required' || round >= maxRounds || typeof challenge !== 'string' || !(difficulty > 0)) throw e;
        onProof?.(round + 1);
        proof = { challenge, solution: await solveProof(challenge, difficulty) };
      }
    }
  }

  /** POST /hub-tickets: a single-use 30-second ticket for one hub connection. `token` is the owner's access token or a
   * call token. */
  async hubTicket(token) {
    return (await this.request('/hub-tickets', { method: 'POST', token })).ticket;
  }

  /** GET /ice-servers (fresh short-lived TURN credentials): a caller with its call token; an owner with its token and
   * the call id. */
  async iceServers(token, callId) {
    const query = callId ? `?callId=${encodeURIComponent(callId)}` : '';
    return (await this.request(`/ice-servers${query}`, { token })).iceServers;
  }

  /** GET /calls/{callId}: `{callId, state, media, createdAt, answeredAt, endedAt, endReason}`. */
  getCall(callId, token) {
    return this.request(`/calls/${encodeURIComponent(callId)}`, { token });
  }
}

/** Finds a proof-of-work solution: SHA-256 of UTF-8 `challenge:solution` starting with `difficulty` zero bits. */
export async function solveProof(challenge, difficulty, onProgress) {
  const encoder = new TextEncoder();
  const batch = 512;
  for (let start = 0; ; start += batch) {
    const candidates = Array.from({ length: batch }, (_, i) => String(start + i));
    const hashes = await Promise.all(candidates.map((c) => crypto.subtle.digest('SHA-256', encoder.encode(`${challenge}:${c}`))));
    const found = hashes.findIndex((hash) => leadingZeroBits(new Uint8Array(hash)) >= difficulty);
    if (found >= 0) return candidates[found];
    if (start % (batch * 32) === 0) onProgress?.(start + batch);
  }
}

/** A SignalR connection to the hub (not started). `signalR` is the @microsoft/signalr namespace; the access token (a
 * hub ticket) comes from `accessTokenFactory`; `query` (e.g. `?deviceId=…`) is appended to the hub URL. */
export function createHubConnection({ signalR, baseUrl = '', hubPath = '/hubs/calls', accessTokenFactory, query = '',
  reconnectDelays = [0, 1000, 2000, 3000, 5000, 5000, 10000, 10000], logLevel } = {}) {
  if (!signalR?.HubConnectionBuilder) throw new TypeError('createHubConnection needs the @microsoft/signalr namespace.');
  return new signalR.HubConnectionBuilder()
    .withUrl(`${baseUrl.replace(/\/+$/, '')}${hubPath}${query}`, { accessTokenFactory })
    .withAutomaticReconnect(reconnectDelays)
    .configureLogging(logLevel ?? signalR.LogLevel.Warning)
    .build();
}
