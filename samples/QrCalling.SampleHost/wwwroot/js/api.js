// Small fetch helpers for QrCalling's REST API (/api/v1). Payloads only ever travel in request bodies.

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = 'GET', body, token, accept } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers['Authorization'] = `Bearer ${token}`;
  if (accept) headers['Accept'] = accept;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  });
  if (!response.ok) {
    let problem = {};
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, problem.code, problem.detail || problem.title);
  }
  if (accept && !accept.includes('json')) return response.blob();
  if (response.status === 204 || response.headers.get('content-length') === '0') return null;
  const type = response.headers.get('content-type') || '';
  return type.includes('json') ? response.json() : null;
}

/** A SignalR connection to the hub; `query` is appended (e.g. deviceId), the token goes through accessTokenFactory. */
export function connectHub(tokenFactory, query = '') {
  // eslint-disable-next-line no-undef
  const signalR = window.signalR;
  return new signalR.HubConnectionBuilder()
    .withUrl(`/hubs/calls${query}`, { accessTokenFactory: tokenFactory })
    .withAutomaticReconnect([0, 1000, 2000, 5000, 10000, 15000])
    .configureLogging(signalR.LogLevel.Warning)
    .build();
}

export function $(id) { return document.getElementById(id); }

export function show(el, visible) { el.hidden = !visible; }

export function setText(id, text) { $(id).textContent = text; }

/** True when the page asks for relay-only ICE (?relay=1) even without a TURN server in the list (calls then fail
 * rather than use direct candidates). With a TURN server the pages use relay-only ICE anyway. */
export function forceRelay() {
  return new URLSearchParams(location.search).get('relay') === '1' || window.qrcallingConfig?.forceRelay === true;
}

export function debugState() {
  window.qrcallingDebug ??= { events: [], session: null, get pc() { return this.session?.pc ?? null; }, get state() { return this.session?.state ?? 'idle'; } };
  return window.qrcallingDebug;
}
