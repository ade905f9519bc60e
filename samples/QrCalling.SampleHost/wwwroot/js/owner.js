// The owner page: account, codes (create, QR, download, print, revoke, rotate), online ringing, calls, history.
import { $, api, ApiError, connectHub, debugState, show } from './api.js';
import { CallSession, renderCallView, routeCallEvents } from './call.js';

const TOKEN_KEY = 'qrcalling.owner.token';
const DEVICE_KEY = 'qrcalling.owner.deviceId';
const debug = debugState();
let token = null;
let hub = null;
let session = null;
let lastCreated = null;
const incoming = new Map();

function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = 'dev_' + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

const authed = (path, options = {}) => api(path, { ...options, token }).catch((e) => {
  if (e instanceof ApiError && e.status === 401) signOut();
  throw e;
});

// ---- account ----
async function signIn(register) {
  $('auth-error').textContent = '';
  const body = { username: $('username').value.trim(), password: $('password').value };
  try {
    if (register) await api('/account/register', { method: 'POST', body });
    const login = await api('/account/login', { method: 'POST', body });
    localStorage.setItem(TOKEN_KEY, JSON.stringify(login));
    await enter(login.accessToken);
  } catch (e) {
    $('auth-error').textContent = e.code === 'username_taken' ? 'That user name is taken.'
      : e.code === 'unauthorized' ? 'Wrong user name or password.'
      : e.code === 'rate_limited' ? 'Too many attempts; wait a minute.' : e.message;
  }
}

function signOut() {
  localStorage.removeItem(TOKEN_KEY);
  token = null;
  hub?.stop();
  show($('auth'), true);
  show($('signed-in'), false);
  show($('sign-out'), false);
}

async function enter(accessToken) {
  token = accessToken;
  show($('auth'), false);
  show($('signed-in'), true);
  show($('sign-out'), true);
  await Promise.all([goOnline(), loadCodes(), loadHistory()]);
}

// ---- ringing ----
async function goOnline() {
  hub = connectHub(() => token, `?deviceId=${encodeURIComponent(deviceId())}`);
  debug.hub = hub;
  routeCallEvents(hub, () => session);
  hub.on('IncomingCall', (call) => { incoming.set(call.callId, call); renderIncoming(); });
  hub.on('CallAnsweredElsewhere', (e) => { incoming.delete(e.callId); renderIncoming(); });
  hub.on('CallEnded', (e) => { if (incoming.delete(e.callId)) renderIncoming(); loadHistory(); });
  // Stay online: when SignalR's own reconnect attempts run out, keep trying every 10 s while signed in.
  hub.onclose(() => { if (token) setTimeout(() => startHub(hub), 10000); });
  await startHub(hub);
}

async function startHub(connection) {
  if (!token || connection !== hub || connection.state !== 'Disconnected') return;
  try {
    await connection.start();
    $('hub-state').textContent = 'online';
  } catch {
    setTimeout(() => startHub(connection), 10000);
  }
}

function renderIncoming() {
  const box = $('incoming');
  box.replaceChildren();
  for (const call of incoming.values()) {
    const card = document.createElement('div');
    card.className = 'ring';
    card.dataset.testid = 'incoming-call';
    const title = document.createElement('p');
    title.innerHTML = '<strong>Incoming call</strong> ';
    title.append(`${call.label || '(no label)'} · ${call.media}`);
    const accept = document.createElement('button');
    accept.textContent = 'Accept';
    accept.dataset.testid = 'accept';
    accept.setAttribute('aria-label', `Accept ${call.media} call for ${call.label || 'your code'}`);
    accept.onclick = () => acceptCall(call);
    const reject = document.createElement('button');
    reject.textContent = 'Reject';
    reject.className = 'danger';
    reject.dataset.testid = 'reject';
    reject.setAttribute('aria-label', `Reject ${call.media} call`);
    reject.onclick = () => { incoming.delete(call.callId); renderIncoming(); hub.invoke('Reject', call.callId).catch(() => {}); };
    card.append(title, accept, reject);
    box.append(card);
  }
  show(box, incoming.size > 0);
}

async function acceptCall(call) {
  incoming.delete(call.callId);
  renderIncoming();
  if (session && !session.ended) await session.hangup();
  renderCallView();
  session = new CallSession({
    hub, callId: call.callId, myId: call.calleeId, role: 'owner', media: call.media,
    iceServers: async () => (await authed('/ice-servers')).iceServers,
    onEnded: () => loadHistory(),
  });
  try {
    await hub.invoke('Accept', call.callId);
    await session.startAsOwner();
  } catch (e) {
    session.end(e.message?.includes('invalid_state') ? 'answered elsewhere or ended' : 'could not accept');
  }
}

// ---- codes ----
function selectedMedia() {
  return [...document.querySelectorAll('input[name=media]:checked')].map((i) => i.value);
}

async function createCode(event) {
  event.preventDefault();
  $('code-error').textContent = '';
  const body = { label: $('code-label').value.trim() || null, media: selectedMedia() };
  if ($('code-expiry').value) body.expiresInSeconds = Number($('code-expiry').value);
  if ($('code-max-scans').value) body.maxScans = Number($('code-max-scans').value);
  try {
    const created = await authed('/codes', { method: 'POST', body });
    await showQr(created);
    await loadCodes();
  } catch (e) {
    $('code-error').textContent = e.message;
  }
}

async function qrImage(created, format) {
  return authed('/qr', { method: 'POST', body: { payload: created.payload, format }, accept: format === 'png' ? 'image/png' : 'image/svg+xml' });
}

async function showQr(created) {
  lastCreated = created;
  debug.lastCode = { id: created.id, link: created.link };
  const png = await qrImage(created, 'png');
  const img = $('qr-image');
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(png);
  $('qr-title').textContent = created.label ? `Your code: ${created.label}` : 'Your code';
  $('qr-link').textContent = created.link;
  $('qr-link').href = created.link;
  show($('qr-panel'), true);
}

async function download(format) {
  if (!lastCreated) return;
  const blob = await qrImage(lastCreated, format);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `qrcalling-${(lastCreated.label || 'code').replace(/[^\w-]+/g, '-')}.${format}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function status(code) {
  if (code.revokedAt) return 'revoked';
  if (code.expiresAt && new Date(code.expiresAt) < new Date()) return 'expired';
  if (code.maxScans && code.scanCount >= code.maxScans) return 'used up';
  return 'active';
}

async function loadCodes() {
  const codes = await authed('/codes');
  const body = $('codes');
  body.replaceChildren();
  for (const code of codes) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'code-row';
    const state = status(code);
    for (const text of [code.label || '(no label)', code.media.join(', '), `${code.scanCount}${code.maxScans ? ' / ' + code.maxScans : ''}`, state]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    const actions = document.createElement('td');
    if (state === 'active') {
      const rotate = document.createElement('button');
      rotate.textContent = 'Rotate';
      rotate.setAttribute('aria-label', `Replace code ${code.label || ''} with a new one`);
      rotate.onclick = async () => { await showQr(await authed(`/codes/${code.id}/rotate`, { method: 'POST' })); await loadCodes(); };
      const revoke = document.createElement('button');
      revoke.textContent = 'Revoke';
      revoke.className = 'danger';
      revoke.setAttribute('aria-label', `Revoke code ${code.label || ''}`);
      revoke.onclick = async () => { await authed(`/codes/${code.id}/revoke`, { method: 'POST' }); await loadCodes(); };
      actions.append(rotate, revoke);
    }
    tr.append(actions);
    body.append(tr);
  }
}

async function loadHistory() {
  if (!token) return;
  const calls = await authed('/calls?limit=20');
  const list = $('history');
  list.replaceChildren();
  for (const call of calls) {
    const li = document.createElement('li');
    const when = new Date(call.createdAt).toLocaleString();
    li.textContent = `${when} · ${call.label || '(no label)'} · ${call.media} · ${call.state}${call.endReason ? ' (' + call.endReason + ')' : ''}`;
    list.append(li);
  }
}

// ---- start ----
$('auth-form').addEventListener('submit', (e) => { e.preventDefault(); signIn(false); });
$('sign-up').addEventListener('click', () => { if ($('auth-form').reportValidity()) signIn(true); });
$('sign-out').addEventListener('click', signOut);
$('code-form').addEventListener('submit', createCode);
$('download-png').addEventListener('click', () => download('png'));
$('download-svg').addEventListener('click', () => download('svg'));
$('print-qr').addEventListener('click', () => window.print());
$('refresh-history').addEventListener('click', loadHistory);

const saved = JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null');
if (saved && new Date(saved.expiresAt) > new Date(Date.now() + 60000)) {
  enter(saved.accessToken).catch(() => signOut());
}
