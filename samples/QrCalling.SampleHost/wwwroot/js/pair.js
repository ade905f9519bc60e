// The new device's side of pairing by QR: /pair#<pairingPayload>. The payload leaves the address bar at once; the
// device picks a name, gets its own token (kept in localStorage), shows the check code, and once the owner confirmed it
// on a signed-in device it connects to the hub with its token and rings for the owner's calls.
import { $, api, connectHub, describeError, el, hubErrorCode, setHubState, show } from './api.js';

const TOKEN_KEY = 'qrcalling.pairedDevice';
const spaced = (code) => `${code.slice(0, 3)} ${code.slice(3)}`;
let payload = '';
let hub = null;

function takeFragment() {
  const fragment = decodeURIComponent(location.hash.slice(1));
  if (fragment) {
    payload = fragment;
    history.replaceState(null, '', location.pathname + location.search); // no history entry keeps the secret
  }
}

function saved() {
  try { return JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null'); } catch { return null; }
}

function setError(text) { $('pair-error').textContent = text; }
function setStatus(text) { $('pair-status').textContent = text; }

function pairError(e) {
  if (e?.code === 'pairing_unavailable') return 'This pairing code is not valid any more (it works once, for two minutes). Show a new one on your signed-in device and scan it again.';
  if (e?.code === 'invalid_request') return 'Give this device a name of 1 to 64 characters.';
  if (e?.code === 'quota_exceeded') return 'Your account has as many devices as allowed. Remove one on your signed-in device first.';
  return describeError(e, 'add this device');
}

async function pair(event) {
  event.preventDefault();
  setError('');
  $('pair-submit').disabled = true;
  try {
    const device = await api('/devices/pair', { method: 'POST', body: { pairingPayload: payload, name: $('pair-name').value } });
    localStorage.setItem(TOKEN_KEY, JSON.stringify({ deviceId: device.deviceId, token: device.deviceToken, name: device.name, checkCode: device.checkCode }));
    payload = '';
    start();
  } catch (e) {
    setError(pairError(e));
    $('pair-submit').disabled = false;
  }
}

function forget(message) {
  localStorage.removeItem(TOKEN_KEY);
  hub?.stop();
  hub = null;
  setHubState('offline');
  show($('pair-check'), false);
  show($('pair-ready'), false);
  setStatus('');
  setError(message);
}

function ring(call) {
  const card = el('div', { class: 'ring', testid: 'pair-ring', 'data-call-id': call.callId },
    el('p', {}, el('strong', {}, 'Incoming call'), ` — ${call.label || 'one of your codes'}`),
    el('div', { class: 'row' },
      el('button', { type: 'button', class: 'danger', testid: 'pair-decline', onclick: () => hub.invoke('Reject', call.callId).catch(() => {}) }, 'Decline')),
    el('p', { class: 'hint' }, 'To answer with voice, video or chat, open your signed-in page.'));
  $('pair-incoming').append(card);
  document.title = `(1) Incoming call — ${call.label || 'QrCalling'}`;
}

function stopRinging(callId) {
  for (const card of $('pair-incoming').querySelectorAll(`[data-call-id="${CSS.escape(callId)}"]`)) card.remove();
  if (!$('pair-incoming').children.length) document.title = 'QrCalling · add this device';
}

function showPending(device) {
  $('check-code').textContent = spaced(device.checkCode);
  show($('pair-ready'), false);
  show($('pair-check'), true);
  setStatus('Waiting for you to confirm on your other device…');
}

/** Connects with the device token. The server refuses an unconfirmed device (device_pending): the page then shows the
 * check code and tries again every 2 s; a revoked or unknown token (unauthorized) is forgotten. */
async function start() {
  const device = saved();
  if (!device) return;
  show($('pair-form-section'), false);
  if (hub) return;
  const connection = connectHub(async () => saved()?.token ?? '');
  hub = connection;
  connection.on('IncomingCall', ring);
  connection.on('CallEnded', (e) => stopRinging(e.callId));
  connection.on('CallAnsweredElsewhere', (e) => stopRinging(e.callId));
  connection.on('DeviceRevoked', () => forget('This device was removed from your account and no longer rings. Pair it again to bring it back.'));
  connection.onreconnecting(() => setHubState('reconnecting'));
  connection.onreconnected(() => setHubState('online'));
  // The server refuses an unconfirmed device or a revoked token while connecting (start() fails) or just after the
  // handshake (the connection closes): either way the same words, then another try in 2 s unless the token is dead.
  const refused = (error, otherwise) => {
    if (hub !== connection) return;
    hub = null;
    setHubState('offline');
    const code = hubErrorCode(error);
    if (code === 'unauthorized') {
      forget('This device is not paired any more and no longer rings. Scan a new pairing code from your signed-in device.');
      return;
    }
    if (code === 'device_pending') showPending(device);
    else setStatus(otherwise);
    setTimeout(start, 2000);
  };
  connection.onclose((error) => refused(error, 'The connection was lost. Reconnecting…'));
  try {
    await connection.start();
    // The server admits or refuses the device just after the handshake: one round trip tells which.
    await connection.invoke('Resume', '', 0).catch((e) => { if (hubErrorCode(e) !== 'invalid_request') throw e; });
    setHubState('online');
    show($('pair-check'), false);
    show($('pair-ready'), true);
    $('ready-text').textContent = `“${device.name}” rings for your calls while this page is open.`;
    setStatus('');
  } catch (e) {
    if (connection.state === 'Disconnected') refused(e, 'Cannot reach the server right now. Trying again…');
  }
}

takeFragment();
function showForm() {
  show($('pair-form-section'), true);
  $('pair-submit').disabled = false;
  $('pair-name').focus();
}

window.addEventListener('hashchange', () => { takeFragment(); if (payload && !saved()) showForm(); });
$('pair-form').addEventListener('submit', pair);
if (saved()) {
  start();
} else if (payload) {
  showForm();
} else {
  setError('Open this page from the pairing QR code your signed-in device shows (Devices → Pair a new device).');
}
