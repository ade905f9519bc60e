// Small helpers shared by both pages: QrCalling's REST API (/api/v1), the hub connection, errors in human words.
// Payloads only ever travel in request bodies. The REST and hub logic is the JavaScript client module's
// (qrcalling-client.js); this file keeps the page helpers.
import { QrCallingApi, createHubConnection, hubErrorCode } from './qrcalling-client.js';

export { ApiError, hubErrorCode } from './qrcalling-client.js';

/** The page's REST client (same origin), from the JavaScript client module. */
export const restApi = new QrCallingApi();

/** One request to /api/v1 (see QrCallingApi.request in qrcalling-client.js). */
export function api(path, options = {}) {
  return restApi.request(path, options);
}

/**
 * What went wrong, in words a person understands. `what` names the action ("create the code"); known codes get their own
 * sentence, anything else a general one. Never shows a stack, a status number or an internal name.
 */
export function describeError(error, what = 'do that') {
  const code = error?.code ?? hubErrorCode(error);
  const status = error?.status ?? 0;
  switch (code) {
    case 'network': return `Could not ${what}: no connection to the server. Check your network and try again.`;
    case 'rate_limited': return `Could not ${what}: too many attempts. Wait a minute and try again.`;
    case 'unauthorized': return 'Your session has ended. Please sign in again.';
    case 'storage_unavailable':
    case 'service_unavailable':
    case 'internal_error': return `Could not ${what}: the server has a problem. Try again in a moment.`;
    case 'unavailable': return 'This code is not available (unknown, withdrawn, expired or used up).';
    case 'checksum': return 'The code was misread. Scan it again.';
    case 'malformed': return 'That is not a QrCalling code.';
    case 'not_found': return `Could not ${what}: it does not exist any more. Reload the page.`;
    case 'too_large': return `Could not ${what}: it is too long.`;
    case 'invalid_state': return `Could not ${what}: the call has already ended or was answered elsewhere.`;
    case 'not_participant': return `Could not ${what}: you are not part of this call any more.`;
    case 'mailbox_full': return `Could not ${what}: the other side is not keeping up. Try again in a moment.`;
    case 'media_not_allowed': return `Could not ${what}: chat is turned off for this code.`;
    case 'quiet_hours': return `Could not ${what}: the owner has quiet hours now. You can send a chat instead.`;
    case 'chat_only': return `Could not ${what}: the owner takes chats only right now.`;
    case 'caller_unknown': return `Could not ${what}: this caller cannot be blocked.`;
    case 'maintenance': return `Could not ${what}: the service is under maintenance. Try again later.`;
    case 'registration_closed': return `Could not ${what}: new accounts cannot be made right now.`;
    case 'feedback_closed': return `Could not ${what}: feedback is turned off right now.`;
    case 'signing_unavailable': return `Could not ${what}: this site has no key to sign QR codes.`;
    case 'proof_required': return `Could not ${what}: many people are calling this code right now. Try again in a moment.`;
    default:
      if (status >= 500) return `Could not ${what}: the server has a problem. Try again in a moment.`;
      if (status === 400) return `Could not ${what}: the server did not accept it. Check what you entered.`;
      return `Could not ${what}. Try again.`;
  }
}

/** A SignalR connection to the hub; `query` is appended (e.g. deviceId), the token goes through accessTokenFactory. */
export function connectHub(tokenFactory, query = '') {
  return createHubConnection({ signalR: window.signalR, accessTokenFactory: tokenFactory, query });
}

/** Records the hub's state on <body data-hub="online|reconnecting|offline"> (read by the pages' styles and by tests). */
export function setHubState(state) {
  document.body.dataset.hub = state;
}

export function $(id) { return document.getElementById(id); }

export function show(el, visible) { el.hidden = !visible; }

export function setText(id, text) { $(id).textContent = text; }

/** An element with text and attributes; children may be strings or elements. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'testid') node.dataset.testid = value;
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** True when the page asks for relay-only ICE (?relay=1) even without a TURN server in the list (calls then go without
 * media rather than use direct candidates). With a TURN server the pages use relay-only ICE anyway. */
export function forceRelay() {
  return new URLSearchParams(location.search).get('relay') === '1' || window.qrcallingConfig?.forceRelay === true;
}

export function debugState() {
  window.qrcallingDebug ??= { events: [], session: null, get pc() { return this.session?.pc ?? null; }, get state() { return this.session?.state ?? 'idle'; } };
  return window.qrcallingDebug;
}

/** Last resort: an error nobody caught is shown in words (and logged as a warning), never left as an uncaught error. */
export function catchStrayErrors(show) {
  window.addEventListener('unhandledrejection', (event) => {
    event.preventDefault();
    console.warn('unhandled', event.reason);
    show(describeError(event.reason));
  });
}
