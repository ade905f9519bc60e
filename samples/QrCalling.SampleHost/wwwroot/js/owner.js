// The owner page: account, codes (create, sticker with the QR, download, print, revoke, rotate), ringing while the
// page is open (ring card, tone, notification, title), calls, missed calls and history.
import { $, api, ApiError, catchStrayErrors, connectHub, debugState, describeError, el, hubErrorCode, setHubState, show } from './api.js';
import { CallSession, renderCallView, routeCallEvents } from './call.js';
import { CallNotifier, RingTone, showAttention } from './ringer.js';
import { attachLabelCounter, clearCodes, codeCreated, initCodes, labelProblem, loadCodes, refreshCodesSoon } from './codes.js';
import { readCode } from './code-vault.js';
import { loadMessages } from './messages.js';
import { clearDevices, initDevices, loadDevices } from './devices.js';
import { clearDelegates, initDelegates, loadDelegates, takeInvitationFromUrl } from './delegates.js';
import { initBackup } from './backup.js';
import { blockCaller } from './caller-controls.js';
import { clearOwnerCall, loadOwnerCall, persistOwnerCall, saveOwnerCall, stillActive } from './owner-rejoin.js';
import { isSessionQr } from './qrcalling-client.js';
import { untilText } from './session-check.js';

const TOKEN_KEY = 'qrcalling.owner.token';
const DEVICE_KEY = 'qrcalling.owner.deviceId';
const DEVICE_CREDENTIAL_KEY = 'qrcalling.owner.deviceCredential';
const SEEN_KEY = 'qrcalling.owner.seenAt';
const BASE_TITLE = 'QrCalling · your codes';
const MEDIA_WORDS = { audio: 'voice call', video: 'video call', chat: 'chat' };
const debug = debugState();
let token = null;
let hub = null;
let session = null;
let lastCreated = null;
let creating = false;
let missed = 0;
const incoming = new Map();
const ringTone = new RingTone();
const notifier = new CallNotifier((callId) => focusCard(callId));
// Tabs of one owner in this browser tell each other when one of them answered or declined a call.
const tabs = 'BroadcastChannel' in window ? new BroadcastChannel('qrcalling-owner') : null;
debug.ringTone = ringTone;

/** This tab's device: each tab is its own device (so the hub tells the other tabs when one answers), and a reload of
 * the tab keeps it. The id and its credential are issued by the server (POST /devices) for the signed-in owner, so no
 * other session of the account can act as this device. */
async function device() {
  const id = sessionStorage.getItem(DEVICE_KEY);
  const credential = sessionStorage.getItem(DEVICE_CREDENTIAL_KEY);
  if (id && credential) return { id, credential };
  const issued = await authed('/devices', { method: 'POST' });
  sessionStorage.setItem(DEVICE_KEY, issued.deviceId);
  sessionStorage.setItem(DEVICE_CREDENTIAL_KEY, issued.deviceCredential);
  return { id: issued.deviceId, credential: issued.deviceCredential };
}

const authed = (path, options = {}) => api(path, { ...options, token }).catch((e) => {
  if (e instanceof ApiError && e.status === 401) signOut('Your session has ended. Please sign in again.');
  throw e;
});

function showPageError(message) {
  $('page-error').textContent = message;
  $('page-error').hidden = !message;
}

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
    // Two-step sign-in: the account page asks for the code (the ticket proves the password was right).
    if (e.code === 'mfa_required') { sessionStorage.setItem('qrcalling.owner.mfa', JSON.stringify({ ticket: e.problem.mfaTicket })); location.assign('/account.html#mfa'); return; }
    $('auth-error').textContent = e.code === 'username_taken' ? 'That user name is taken.'
      : e.code === 'unauthorized' ? 'Wrong user name or password.'
      : e.code === 'invalid_request' ? 'Use 3 to 32 letters, digits, dots, dashes or underscores for the name, and at least 8 characters for the password.'
      : describeError(e, register ? 'sign up' : 'sign in');
  }
}

function signOut(message = '') {
  // The server revokes the token and closes this owner's hub connections (fire and forget: it may have expired).
  if (token) api('/account/logout', { method: 'POST', token }).catch(() => {});
  localStorage.removeItem(TOKEN_KEY);
  // The device belongs to this owner: a next sign-in (perhaps as someone else) gets a device of its own.
  sessionStorage.removeItem(DEVICE_KEY);
  sessionStorage.removeItem(DEVICE_CREDENTIAL_KEY);
  clearOwnerCall();
  token = null;
  const connection = hub;
  hub = null;
  connection?.stop();
  incoming.clear();
  renderIncoming();
  clearCodes();
  show($('qr-panel'), false);
  show($('auth'), true);
  show($('signed-in'), false);
  show($('sign-out'), false);
  show($('account-link'), false);
  show($('offline-banner'), false);
  show($('missed'), false);
  $('messages').replaceChildren();
  clearDevices();
  clearDelegates();
  $('auth-error').textContent = message;
}

async function enter(accessToken) {
  token = accessToken;
  if (!localStorage.getItem(SEEN_KEY)) localStorage.setItem(SEEN_KEY, new Date().toISOString());
  show($('auth'), false);
  show($('signed-in'), true);
  show($('sign-out'), true);
  show($('account-link'), true);
  updateNotifyButton();
  await Promise.all([goOnline(), loadCodes(), loadHistory(), refreshMessages(), loadDevices(), loadDelegates()]);
}

// ---- staying reachable ----
let bannerTimer = null;

/** The hub's state, and the banner that tells the owner they cannot be rung (after a second, so that a quick
 * reconnect or the first connect does not flash it). */
function setOnline(online) {
  setHubState(online ? 'online' : hub ? 'reconnecting' : 'offline');
  clearTimeout(bannerTimer);
  if (online || token === null) show($('offline-banner'), false);
  else bannerTimer = setTimeout(() => show($('offline-banner'), token !== null && hub?.state !== 'Connected'), 1000);
}

async function goOnline() {
  const { id, credential } = await device();
  // Each (re)connect trades the sign-in token for a single-use hub ticket, so the token never appears in a URL.
  const connection = connectHub(async () => (await authed('/hub-tickets', { method: 'POST' })).ticket,
    `?deviceId=${encodeURIComponent(id)}&deviceCredential=${encodeURIComponent(credential)}`);
  hub = connection;
  debug.hub = connection;
  routeCallEvents(connection, () => session);
  connection.on('IncomingCall', (call) => { incoming.set(call.callId, call); renderIncoming(call.callId); notifyIncoming(call); });
  connection.on('CallAnsweredElsewhere', (e) => { stopRinging(e.callId); }); // no value: SignalR logs an error for a result nobody asked for
  connection.on('CallEnded', (e) => {
    if (stopRinging(e.callId)) loadHistory();
    else if (session?.callId !== e.callId) loadHistory();
  });
  // Counts in the code list follow the calls (scanCount grows with each call started).
  connection.on('IncomingCall', refreshCodesSoon);
  connection.on('CallEnded', refreshCodesSoon);
  connection.onreconnecting(() => setOnline(false));
  connection.onreconnected(() => { setOnline(true); loadHistory(); });
  connection.onclose(() => {
    setOnline(false);
    // A call under way says its connection is lost until startHub brings it back (and resumes it).
    if (session && !session.ended && connection === hub) session.connection('reconnecting');
    if (connection === hub) setTimeout(() => startHub(connection), 1000);
  });
  setOnline(false);
  await startHub(connection);
}

/** Connects, and keeps trying (every 2 to 10 s) while signed in: the server may be restarting. */
async function startHub(connection) {
  let wait = 2000;
  while (token && connection === hub && connection.state === 'Disconnected') {
    try {
      await connection.start();
      setOnline(true);
      // Calls that rang while we were away come again as IncomingCall; the history shows what was missed.
      loadHistory();
      // A call under way on this page resumes, as after a reconnect (the connection had closed for good).
      if (session && !session.ended) session.connection('online');
      rejoinOnce();
      return;
    } catch (e) {
      if (e?.statusCode === 401 || /\b401\b/.test(String(e?.message))) {
        signOut('Your session has ended. Please sign in again.');
        return;
      }
      if (String(e?.message).includes('deviceCredential')) {
        // The server no longer knows this tab's device (it restarted with a new key): take a new one.
        sessionStorage.removeItem(DEVICE_KEY);
        sessionStorage.removeItem(DEVICE_CREDENTIAL_KEY);
        goOnline().catch(() => setOnline(false));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 10000);
    }
  }
}
window.addEventListener('online', () => { if (hub) startHub(hub); });

// ---- ringing ----
function busy() { return session !== null && !session.ended; }

function notifyIncoming(call) {
  notifier.show(call.callId, `Incoming ${MEDIA_WORDS[call.media] ?? 'call'}`, call.label || 'Your code');
}

/** Stops ringing for a call (answered here or elsewhere, declined, or ended); true when it was ringing here. */
function stopRinging(callId) {
  notifier.close(callId);
  if (!incoming.delete(callId)) return false;
  renderIncoming();
  return true;
}

function focusCard(callId) {
  document.querySelector(`[data-call-id="${CSS.escape(callId)}"]`)?.focus();
}

let focusBeforeRing = null;

function renderIncoming(newCallId = null) {
  const box = $('incoming');
  const hadFocus = box.contains(document.activeElement);
  box.replaceChildren();
  const isBusy = busy();
  for (const call of incoming.values()) {
    const what = MEDIA_WORDS[call.media] ?? 'call';
    const label = call.label || 'your code';
    const titleId = `ring-title-${call.callId}`;
    const descId = `ring-desc-${call.callId}`;
    const accept = el('button', { type: 'button', testid: 'accept', onclick: () => acceptCall(call) }, isBusy ? 'End call and answer' : 'Answer');
    if (isBusy) accept.dataset.testid = 'end-and-answer';
    accept.setAttribute('aria-label', isBusy ? `End your call and answer the ${what} for ${label}` : `Answer the ${what} for ${label}`);
    const decline = el('button', { type: 'button', class: 'danger', testid: 'reject', 'aria-label': `Decline the ${what} for ${label}`, onclick: () => declineCall(call) }, 'Decline');
    const card = el('div', {
      class: isBusy ? 'ring busy' : 'ring', testid: 'incoming-call', role: 'alertdialog', tabindex: '-1',
      'aria-labelledby': titleId, 'aria-describedby': descId, 'data-call-id': call.callId,
    },
    el('p', { id: titleId, class: 'ring-title' }, `Incoming ${what}`),
    el('p', { id: descId, class: 'ring-label' }, label),
    isBusy ? el('p', { class: 'ring-busy', testid: 'busy' }, 'Busy: you are in a call. Answering this one ends it.') : null,
    el('div', { class: 'row' }, ...(isBusy ? [decline, accept] : [accept, decline])),
    el('p', { class: 'hint keys' }, isBusy ? 'Escape declines.' : 'Enter answers · Escape declines.'),
    el('button', { type: 'button', class: 'link-button ring-block', testid: 'ring-block', 'aria-label': `Block the caller of this ${what} for ${label}`, onclick: () => blockRinging(call) }, 'Block this caller'),
    ringTone.audible ? null : el('p', { class: 'hint', testid: 'tap-for-sound' }, 'Tap anywhere to hear the ring.'));
    card.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); declineCall(call); }
      else if (e.key === 'Enter' && e.target === card && !isBusy) { e.preventDefault(); acceptCall(call); }
    });
    box.append(card);
  }
  const ringing = incoming.size > 0;
  show(box, ringing);
  if (ringing) ringTone.start(isBusy ? 'waiting' : 'ring');
  else ringTone.stop();
  debug.ringing = ringing;
  showAttention(BASE_TITLE, [...incoming.values()], missed);
  // Focus goes to the newest call's card (and back to where it was once nothing rings).
  if (newCallId) {
    if (!hadFocus) focusBeforeRing = document.activeElement;
    focusCard(newCallId);
  } else if (ringing && hadFocus) {
    box.querySelector('.ring')?.focus();
  } else if (!ringing && hadFocus) {
    (focusBeforeRing?.isConnected ? focusBeforeRing : document.body).focus?.();
    focusBeforeRing = null;
  }
}

function declineCall(call) {
  stopRinging(call.callId);
  tabs?.postMessage({ type: 'handled', callId: call.callId });
  hub?.invoke('Reject', call.callId).catch((e) => {
    if (hubErrorCode(e) !== 'invalid_state') showPageError(describeError(e, 'decline the call'));
  });
}

async function acceptCall(call) {
  stopRinging(call.callId);
  tabs?.postMessage({ type: 'handled', callId: call.callId });
  if (busy()) await session.hangup();
  // codeMedia (additive in IncomingCall): no chat box where the code does not allow chat (the server refuses it).
  const chatAllowed = Array.isArray(call.codeMedia) ? call.codeMedia.includes('chat') : true;
  const saved = { callId: call.callId, calleeId: call.calleeId, media: call.media, label: call.label, chatAllowed, lastSeq: 0 };
  const current = openSession(saved);
  try {
    await hub.invoke('Accept', call.callId);
  } catch (e) {
    current.end(hubErrorCode(e) === 'invalid_state' ? 'elsewhere' : 'failed');
    if (hubErrorCode(e) !== 'invalid_state') current.showNote(describeError(e, 'answer the call'));
    return;
  }
  saveOwnerCall(saved); // a reload of this tab now rejoins the call
  await current.startAsOwner().catch((e) => current.showNote(describeError(e, 'set up the call')));
}

/** The call view and session of an accepted call (new, or this tab's call after a reload: `restored`). */
function openSession(saved, restored = undefined) {
  renderCallView();
  const ice = async () => (await authed(`/ice-servers?callId=${encodeURIComponent(saved.callId)}`)).iceServers;
  const current = new CallSession({
    hub, callId: saved.callId, myId: saved.calleeId, role: 'owner', media: saved.media, label: saved.label,
    chatAllowed: saved.chatAllowed ?? true, iceServers: ice, freshIceServers: ice, restored, persist: persistOwnerCall(saved),
    onEnded: () => { clearOwnerCall(); loadHistory(); renderIncoming(); },
    onClose: () => { show($('call'), false); if (session === current) session = null; renderIncoming(); },
  });
  session = current;
  $('call').scrollIntoView({ block: 'start' });
  return current;
}

let rejoinTried = false;

/** After a reload mid-call: once the hub is up, resume this tab's call if it is still active ("Reconnecting your
 *  call…"), and ask the caller for a new connection (this page has none). */
async function rejoinOnce() {
  if (rejoinTried) return;
  rejoinTried = true;
  const saved = loadOwnerCall();
  if (!saved || session) return;
  const active = await stillActive(saved, authed);
  if (!active || session) return;
  const current = openSession(saved, active);
  await current.rejoinAsOwner().catch((e) => {
    // Not this device's call any more (say, the server no longer knew this tab's device): it is lost here.
    clearOwnerCall();
    current.end('dropped');
    current.showNote(describeError(e, 'reconnect your call'));
  });
}

tabs?.addEventListener('message', (e) => { if (e.data?.type === 'handled') stopRinging(e.data.callId); });

// ---- notifications (asked from a button, never on load) ----
function updateNotifyButton() {
  show($('notify'), notifier.supported && notifier.permission === 'default');
}

// ---- missed calls ----
function updateMissed(calls) {
  const seenAt = new Date(localStorage.getItem(SEEN_KEY) || 0);
  missed = calls.filter((c) => !c.answeredAt && (c.endReason === 'missed' || c.endReason === 'canceled') && new Date(c.createdAt) > seenAt).length;
  $('missed').textContent = `${missed} missed call${missed === 1 ? '' : 's'}`;
  show($('missed'), missed > 0);
  showAttention(BASE_TITLE, [...incoming.values()], missed);
}

function clearMissed() {
  localStorage.setItem(SEEN_KEY, new Date().toISOString());
  missed = 0;
  show($('missed'), false);
  showAttention(BASE_TITLE, [...incoming.values()], missed);
  $('history-title').scrollIntoView({ block: 'start' });
  $('history-title').focus();
}

// ---- codes ----
function selectedMedia() {
  return [...document.querySelectorAll('input[name=media]:checked')].map((i) => i.value);
}

async function createCode(event) {
  event.preventDefault();
  // One code per press: the button stays disabled until the server answered (a double-click creates one code).
  if (creating) return;
  $('code-error').textContent = '';
  const labelError = labelProblem($('code-label').value);
  if (labelError) {
    $('code-error').textContent = labelError;
    $('code-label').focus();
    return;
  }
  const media = selectedMedia();
  if (media.length === 0) {
    $('code-error').textContent = 'Allow at least one of voice, video or chat.';
    return;
  }
  const body = { label: $('code-label').value.trim(), media };
  if ($('code-expiry').value) body.expiresInSeconds = Number($('code-expiry').value);
  if ($('code-max-scans').value) body.maxScans = Number($('code-max-scans').value);
  creating = true;
  $('create-code').disabled = true;
  $('create-code').setAttribute('aria-busy', 'true');
  try {
    const created = await authed('/codes', { method: 'POST', body });
    await codeCreated(created);
    await showQr(created);
  } catch (e) {
    $('code-error').textContent = describeError(e, 'create the code');
  } finally {
    creating = false;
    $('create-code').disabled = false;
    $('create-code').removeAttribute('aria-busy');
  }
  await loadCodes();
}

/** "Meet now": a signed meet-now code (POST /codes {signed: true}) with the label and media above: an ordinary code that
 * expires (the host's default, an hour), shown with the QR of its signed link, which phones check offline. */
async function meetNow() {
  if (creating) return;
  $('meet-error').textContent = '';
  const label = $('code-label').value.trim() || 'Meet now';
  const labelError = labelProblem(label);
  if (labelError) {
    $('meet-error').textContent = labelError;
    return;
  }
  const media = selectedMedia();
  if (media.length === 0) {
    $('meet-error').textContent = 'Allow at least one of voice, video or chat.';
    return;
  }
  creating = true;
  $('meet-now').disabled = true;
  $('meet-now').setAttribute('aria-busy', 'true');
  try {
    const created = await authed('/codes', { method: 'POST', body: { label, media, signed: true } });
    // This device keeps (and shows again) the signed form: its QR is the one people scan until it expires.
    const meet = { ...created, payload: created.signedPayload, link: created.signedLink };
    await codeCreated(meet);
    await showQr(meet);
  } catch (e) {
    $('meet-error').textContent = e?.code === 'signing_unavailable'
      ? 'This site cannot make meet-now codes: it has no key to sign their QR codes. Create an ordinary code above instead, or ask the site\'s operator to set up a signing key.'
      : describeError(e, 'create the meet-now code');
  } finally {
    creating = false;
    $('meet-now').disabled = false;
    $('meet-now').removeAttribute('aria-busy');
  }
  await loadCodes();
}

/** The QR image of the code's link (the default form), so that any phone camera opens the caller page. */
async function qrImage(created, format) {
  return authed('/qr', { method: 'POST', body: { payload: created.payload, format, form: 'link' }, accept: format === 'png' ? 'image/png' : 'image/svg+xml' });
}

/** The instruction printed under the QR, adapted to the label and to what the code allows. */
export function stickerText(label, media) {
  const verb = media.includes('audio') || media.includes('video') ? 'call' : 'chat with';
  let subject = 'the owner';
  const text = (label || '').trim();
  if (text) {
    const thing = text.replace(/^(my|our|the|this)\s+/i, '');
    const plain = thing.split(/\s+/).length <= 3 && !/['’"“”:]/.test(thing);
    const lower = /^[A-Z][a-z]/.test(thing) ? thing[0].toLowerCase() + thing.slice(1) : thing;
    subject = plain ? `the owner of this ${lower}` : `the owner of “${text}”`;
  }
  return `Scan to ${verb} ${subject}: anonymous, no app needed.`;
}

async function showQr(created, { again = false } = {}) {
  lastCreated = created;
  const kept = (await readCode(created.id)) !== null;
  $('qr-hint').textContent = kept
    ? `${again ? 'Shown again from this device. ' : ''}This device keeps the code, encrypted, so you can show and print it again from “Your codes”. The server keeps no copy: other devices cannot show it.`
    : 'This is the only time the code is shown: download or print it now (this browser cannot keep it).';
  debug.lastCode = { id: created.id, link: created.link };
  $('qr-error').textContent = '';
  const png = await qrImage(created, 'png');
  const img = $('qr-image');
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(png);
  $('qr-title').textContent = created.label ? `Your sticker: ${created.label}` : 'Your sticker';
  $('sticker-text').value = stickerText(created.label, created.media);
  $('sticker-line').textContent = $('sticker-text').value;
  $('sticker-host').textContent = `Opens ${new URL(created.link).host} in the phone's browser`;
  $('qr-link').textContent = created.link;
  $('qr-link').href = created.link;
  // A meet-now code's signed QR: until when it works, in words.
  const meet = isSessionQr(created.payload) && created.expiresAt;
  $('qr-valid').textContent = meet ? `Signed by this site: valid until ${untilText(created.expiresAt)}, then the code and its QR stop working.` : '';
  show($('qr-valid'), Boolean(meet));
  show($('qr-panel'), true);
  $('qr-panel').scrollIntoView({ block: 'start' });
}

async function download(format) {
  if (!lastCreated) return;
  $('qr-error').textContent = '';
  try {
    const blob = await qrImage(lastCreated, format);
    const a = el('a', { href: URL.createObjectURL(blob), download: `qrcalling-${(lastCreated.label || 'code').replace(/[^\w-]+/g, '-')}.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) {
    $('qr-error').textContent = describeError(e, 'download the image');
  }
}

/** Fills the print sheet with copies of the sticker, then prints (the print styles show only the sheet). */
function fillPrintSheet() {
  const copies = Number($('sticker-copies').value) || 1;
  const sheet = $('print-sheet');
  sheet.replaceChildren();
  sheet.dataset.copies = String(copies);
  for (let i = 0; i < copies; i++) {
    const copy = $('sticker').cloneNode(true);
    copy.removeAttribute('id');
    copy.querySelectorAll('[id]').forEach((n) => n.removeAttribute('id'));
    copy.dataset.testid = 'printed-sticker';
    sheet.append(copy);
  }
}

function printSticker() {
  fillPrintSheet();
  window.print();
}

function historyText(call) {
  const when = new Date(call.createdAt).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
  const what = MEDIA_WORDS[call.media] ?? call.media;
  let outcome;
  if (call.state !== 'ended') outcome = call.state === 'ringing' ? 'ringing' : 'in progress';
  else if (call.answeredAt) {
    const seconds = Math.max(0, Math.round((new Date(call.endedAt) - new Date(call.answeredAt)) / 1000));
    outcome = `answered, ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  } else {
    outcome = { missed: 'missed', canceled: 'missed (the caller hung up)', rejected: 'declined', revoked: 'code withdrawn' }[call.endReason] ?? 'not answered';
  }
  return `${when} · ${call.label || '(no label)'} · ${what} · ${outcome}`;
}

function historyFeedback(text) {
  $('history-error').textContent = '';
  $('history-status').textContent = text;
  clearTimeout(historyFeedback.timer);
  historyFeedback.timer = setTimeout(() => { $('history-status').textContent = ''; }, 8000);
}

/** "Block this caller" on a ringing call: asks, then declines the call and blocks its caller on the code. */
async function blockRinging(call) {
  const blocked = await blockCaller(call, { authed, feedback: historyFeedback, onError: showPageError });
  if (blocked && incoming.has(call.callId)) declineCall(call);
}

async function loadHistory() {
  if (!token) return;
  let calls;
  try {
    calls = await authed('/calls?limit=20');
    $('history-error').textContent = '';
  } catch (e) {
    $('history-error').textContent = describeError(e, 'load the call history');
    return;
  }
  $('history').replaceChildren(...calls.map((call) => el('li', { class: call.answeredAt ? '' : 'unanswered', 'data-call-id': call.callId },
    el('span', {}, historyText(call)), ' ',
    el('button', {
      type: 'button', class: 'link-button', testid: 'block-caller', 'aria-label': `Block the caller of this call: ${historyText(call)}`,
      onclick: () => blockCaller(call, { authed, feedback: historyFeedback, onError: (text) => { $('history-error').textContent = text; } }),
    }, 'Block caller'))));
  updateMissed(calls);
}

// ---- start ----
catchStrayErrors(showPageError);
$('auth-form').addEventListener('submit', (e) => { e.preventDefault(); signIn(false); });
$('sign-up').addEventListener('click', () => { if ($('auth-form').reportValidity()) signIn(true); });
$('sign-out').addEventListener('click', () => signOut());
$('code-form').addEventListener('submit', createCode);
$('meet-now').addEventListener('click', meetNow);
attachLabelCounter($('code-label'));
initCodes({ authed, showQr, signedIn: () => token !== null });
initDevices({ authed });
initDelegates({ authed, signedIn: () => token !== null });
takeInvitationFromUrl();
initBackup({ token: () => token });
window.addEventListener('qrcalling:codes-restored', () => loadCodes());
$('download-png').addEventListener('click', () => download('png'));
$('download-svg').addEventListener('click', () => download('svg'));
$('print-qr').addEventListener('click', printSticker);
$('sticker-text').addEventListener('input', () => { $('sticker-line').textContent = $('sticker-text').value; });
window.addEventListener('beforeprint', fillPrintSheet);
$('refresh-history').addEventListener('click', loadHistory);
$('missed').addEventListener('click', clearMissed);
$('notify').addEventListener('click', async () => { ringTone.unlock(); await notifier.request(); updateNotifyButton(); });
$('page-error').addEventListener('click', () => showPageError(''));

const saved = JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null');
if (saved && new Date(saved.expiresAt) > new Date(Date.now() + 60000)) {
  enter(saved.accessToken).catch(() => signOut());
}

// ---- messages callers left (decrypted in this browser) ----
function refreshMessages() {
  return loadMessages($('messages'), { token, onError: (text) => { $('messages-error').textContent = text; } });
}
$('refresh-messages').addEventListener('click', refreshMessages);
