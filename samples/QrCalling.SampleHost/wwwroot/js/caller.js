// The caller page (/c#PQC:1:...): the payload comes from the URL fragment (never sent to the server in a URL; taken out
// of the address bar and the history at once) or from the camera; it travels only in the bodies of POST /scan and
// POST /calls. A call in progress survives a reload of this tab: its call token waits in sessionStorage until it ends.
import { $, catchStrayErrors, connectHub, debugState, describeError, restApi, setHubState, show } from './api.js';
import { acquireMedia, CallSession, MediaProblem, renderCallView, routeCallEvents } from './call.js';
import { isCallerKey, isSessionQr, newCallerKey, parsePayload } from './qrcalling-client.js';
import { offerMessage, reachabilityText } from './messages.js';
import { checkSessionQr } from './session-check.js';

const CALL_KEY = 'qrcalling.caller.call';
const CALLER_KEY = 'qrcalling.caller.key';
const debug = debugState();
let payload = null;
let codeInfo = null;
let session = null;
let hub = null;
let scanning = false;
let checkedLine = null; // a signed QR's "Checked: …" line, shown with the code

const NOT_A_CODE = 'That is not a QrCalling code.';

/** Reads the fragment and removes it from the address bar and from this history entry, so the code is not left on
 * screen, in the history, in a bookmark or in a shared URL. */
function takeFragment() {
  const fragment = location.hash;
  history.replaceState(history.state, '', location.pathname + location.search);
  return fragment;
}

/** This browser's caller key: 32 random bytes (base64url), made once and kept in localStorage. The server turns it into
 * a different pseudonym for every code, so an owner can block "this caller on this code" and nothing links the caller
 * across codes. Without storage (private mode may refuse it) a fresh key per page load still works. */
function callerKey() {
  if (callerKey.fallback) return callerKey.fallback;
  try {
    const kept = localStorage.getItem(CALLER_KEY);
    if (isCallerKey(kept)) return kept;
  } catch { /* storage unavailable */ }
  const key = newCallerKey();
  try { localStorage.setItem(CALLER_KEY, key); } catch { /* kept for this page only */ }
  callerKey.fallback = key;
  return key;
}

/** What the owner takes now (from the scan): chat only, or quiet hours until a time. Null when everything is open. */
export function policyText(info) {
  const chat = info.media.includes('chat');
  const calls = info.media.some((m) => m !== 'chat');
  if (info.quietUntil) {
    const until = new Date(info.quietUntil).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (!chat) return `Quiet hours until ${until}: the owner takes no calls until then. Try again later.`;
    return `Quiet hours until ${until} — no voice or video calls, but you can send a chat or leave a message.`;
  }
  if (info.chatOnly && calls) return chat ? 'The owner takes chats only right now.' : 'The owner takes no calls on this code right now.';
  return null;
}

function mediaButtons() { return [...document.querySelectorAll('#media-buttons button')]; }

function showCodeView() {
  show($('scan'), false);
  show($('call'), false);
  show($('code'), true);
  $('code-label').textContent = codeInfo.label || 'Call';
  $('code-checked').textContent = checkedLine ?? '';
  show($('code-checked'), checkedLine !== null);
  // reachable: the owner's devices are online now (coarse; absent when the server does not say).
  $('code-reach').textContent = reachabilityText(codeInfo.reachable);
  $('code-reach').dataset.reachable = String(codeInfo.reachable ?? '');
  // What the owner takes now (additive scan fields; a server without them allows everything the code allows).
  const restricted = codeInfo.callsAllowed === false || codeInfo.chatOnly === true;
  const policy = policyText(codeInfo);
  $('code-policy').textContent = policy ?? '';
  $('code-policy').dataset.quiet = String(Boolean(codeInfo.quietUntil));
  $('code-policy').dataset.chatOnly = String(codeInfo.chatOnly === true);
  show($('code-policy'), policy !== null);
  // In quiet hours "the owner can be rung now" would contradict the quiet-hours line: that one line says it all.
  show($('code-reach'), !codeInfo.quietUntil);
  show($('leave-message'), codeInfo.reachable === false || (Boolean(codeInfo.quietUntil) && codeInfo.media.includes('chat')));
  $('leave-message').disabled = false;
  $('leave-message').onclick = leaveMessageNow;
  show($('message'), false);
  for (const button of mediaButtons()) {
    button.hidden = !codeInfo.media.includes(button.dataset.media) || (restricted && button.dataset.media !== 'chat');
    button.disabled = false;
    button.onclick = () => startCall(button.dataset.media);
  }
}

/** What a refused code shows: the scan view with the reason, nothing sent, no call possible. */
function refuse(text) {
  stopScanner();
  codeInfo = null;
  payload = null;
  show($('code'), false);
  show($('scan'), true);
  $('scan-error').textContent = text;
}

async function useCode(text) {
  checkedLine = null;
  if (isSessionQr(text)) {
    // A signed QR: checked here first with this site's public keys, and refused without asking the server when it does
    // not verify. The server checks it again on the scan and the call.
    const checked = await checkSessionQr(text);
    if (!checked.ok) {
      refuse(checked.text);
      return;
    }
    if (checked.result.qr.kind === 'ROOM') {
      location.replace(`/room#${checked.result.qr.payload}`); // a room's QR opened here: the room page takes it
      return;
    }
    checkedLine = checked.text;
    text = checked.result.qr.payload;
  }
  const decoded = parsePayload(text);
  if (decoded === null) {
    show($('scan'), true);
    show($('code'), false);
    $('scan-error').textContent = NOT_A_CODE;
    return;
  }
  $('scan-error').textContent = '';
  try {
    codeInfo = await restApi.scan(decoded, { callerKey: callerKey() });
    payload = decoded;
    stopScanner();
    showCodeView();
  } catch (e) {
    show($('scan'), true);
    show($('code'), false);
    $('scan-error').textContent = describeError(e, 'read this code');
  }
}

// ---- the call ----
function saveCall(saved) { sessionStorage.setItem(CALL_KEY, JSON.stringify(saved)); }
function loadCall() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(CALL_KEY) || 'null');
    return saved && new Date(saved.expiresAt) > new Date() ? saved : null;
  } catch {
    return null;
  }
}
function clearCall() { sessionStorage.removeItem(CALL_KEY); }

async function startCall(media) {
  $('code-error').textContent = '';
  $('code-problem').hidden = true;
  for (const button of mediaButtons()) button.disabled = true;
  let localStream = null;
  try {
    if (media !== 'chat') {
      // Before anyone is rung: a call without a working microphone would only ring the owner for nothing.
      $('code-status').textContent = media === 'video' ? 'Allow the microphone and camera to call…' : 'Allow the microphone to call…';
      localStream = await acquireMedia(media);
    }
    $('code-status').textContent = 'Calling…';
    const started = await startWithProof(media);
    const saved = {
      callId: started.callId, callToken: started.callToken, callerId: started.callerId, expiresAt: started.expiresAt,
      iceServers: started.iceServers ?? [], media, label: codeInfo?.label ?? '', lastSeq: 0,
      chatAllowed: codeInfo?.media?.includes('chat') ?? true, // the owner's setting: no chat in a voice-only code's call
    };
    saveCall(saved);
    await joinCall(saved, { localStream });
  } catch (e) {
    if (session && !session.ended && !$('call').hidden) {
      // The call is up and shown: say what failed there (the hub reconnects by itself).
      session.showNote(describeError(e, 'set up the call'));
      return;
    }
    localStream?.getTracks().forEach((t) => t.stop());
    if (e instanceof MediaProblem) {
      showMediaProblem(e, media);
    } else {
      clearCall();
      show($('call'), false);
      show($('code'), true);
      $('code-error').textContent = describeError(e, 'start the call');
    }
    for (const button of mediaButtons()) button.disabled = false;
  } finally {
    $('code-status').textContent = '';
  }
}

/** POST /calls; when the code is busy (many calls at once) the server asks for a proof of work first: the module solves
 * it and asks again (a few rounds at most, as the challenge may get harder while the code stays busy). */
function startWithProof(media) {
  return restApi.startCallWithProof(payload, media, {
    callerKey: callerKey(),
    onProof: () => {
      $('code-status').textContent = 'Many people are calling this code right now. Getting you through…';
      debug.proofs = (debug.proofs ?? 0) + 1;
    },
  });
}

/** The microphone or camera is not available: say why; try again, or continue as a chat when the code allows it. */
function showMediaProblem(problem, media) {
  $('code-problem-text').textContent = problem.message;
  $('code-problem').hidden = false;
  $('code-retry').onclick = () => startCall(media);
  $('code-as-chat').hidden = !codeInfo?.media.includes('chat');
  $('code-as-chat').onclick = () => startCall('chat');
  $('code-retry').focus();
}

async function startHub(connection) {
  while (connection === hub && session && !session.ended && connection.state === 'Disconnected') {
    try {
      await connection.start();
      setHubState('online');
      $('conn-banner').hidden = true;
      // As after a reconnect: the call resumes (in seq order) and file transfers say again what may have been lost.
      await session.connection('online');
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}

/** Connects to the call (new, or this tab's call after a reload) and shows the call view. */
async function joinCall(saved, { localStream = null, rejoin = false } = {}) {
  // Each (re)connect trades the call token for a single-use hub ticket, so the call token never appears in a URL.
  const connection = connectHub(() => restApi.hubTicket(saved.callToken));
  hub = connection;
  debug.hub = connection;
  debug.callId = saved.callId;
  routeCallEvents(connection, () => session);
  connection.onreconnecting(() => { setHubState('reconnecting'); $('conn-banner').hidden = false; });
  connection.onreconnected(() => { setHubState('online'); $('conn-banner').hidden = true; });
  connection.onclose(() => {
    setHubState('offline');
    if (session && !session.ended && connection === hub) {
      $('conn-banner').hidden = false;
      session.connection('reconnecting'); // the call view says so until startHub brings it back
      setTimeout(() => startHub(connection), 1000);
    }
  });
  await connection.start();
  setHubState('online');

  renderCallView();
  show($('scan'), false);
  show($('code'), false);
  session = new CallSession({
    hub: connection, callId: saved.callId, myId: saved.callerId, role: 'caller', media: saved.media, label: saved.label,
    chatAllowed: saved.chatAllowed ?? true,
    // After a reload the saved TURN credentials may have expired: ask for fresh ones.
    iceServers: async () => (rejoin ? await freshIceServers(saved) : null) ?? saved.iceServers,
    freshIceServers: () => freshIceServers(saved),
    localStream,
    restored: rejoin ? saved : undefined,
    persist: (state) => { if (loadCall()?.callId === saved.callId) saveCall({ ...saved, ...state }); },
    onEnded: (reason) => {
      clearCall();
      setTimeout(() => connection.stop(), 0);
      // Nobody answered: the caller may leave one message, sealed for the owner.
      if (UNANSWERED.has(reason)) showMessageBox(saved);
    },
    onCallAgain: payload ? () => { closeCall(); startCall(saved.media); } : null,
    onClose: closeCall,
  });
  if (rejoin) {
    const status = await restApi.getCall(saved.callId, saved.callToken);
    if (status.state === 'ended') {
      session.end(status.endReason ?? 'ended');
      return;
    }
    session.restored = { ...saved, answeredAt: status.answeredAt }; // the timer counts from the answer, not the reload
    await session.startAsCaller({ accepted: status.state === 'active' });
    await session.resume();
  } else {
    await session.startAsCaller();
    // The owner may have accepted (and sent its key) before this connection was up: catch up from the mailbox.
    await session.resume(true);
  }
}

/** The call's ICE servers from GET /ice-servers (short-lived TURN credentials); null when that fails. */
async function freshIceServers(saved) {
  try {
    return await restApi.iceServers(saved.callToken);
  } catch (e) {
    console.warn('ice servers', e);
    return null;
  }
}

const UNANSWERED = new Set(['missed', 'rejected', 'canceled']);

function showMessageBox(saved) {
  show($('message'), true);
  offerMessage($('message'), { callId: saved.callId, callToken: saved.callToken }).catch((e) => console.warn('message', e));
}

/** The owner is not reachable: a message needs a call of its own (its token authorizes the one message), so start one
 * and hang it up at once (it ends "canceled" without ringing anyone who is online), then offer the message box. */
async function leaveMessageNow() {
  $('code-error').textContent = '';
  $('leave-message').disabled = true;
  for (const button of mediaButtons()) button.disabled = true;
  try {
    const started = await startWithProof(codeInfo.media.includes('chat') ? 'chat' : codeInfo.media[0]);
    const connection = connectHub(() => restApi.hubTicket(started.callToken));
    await connection.start();
    try {
      await connection.invoke('Hangup', started.callId);
    } finally {
      connection.stop();
    }
    show($('code'), false);
    showMessageBox({ callId: started.callId, callToken: started.callToken });
  } catch (e) {
    $('code-error').textContent = describeError(e, 'leave a message');
    $('leave-message').disabled = false;
    for (const button of mediaButtons()) button.disabled = false;
  } finally {
    $('code-status').textContent = '';
  }
}

function closeCall() {
  show($('call'), false);
  show($('message'), false);
  session = null;
  if (codeInfo && payload) showCodeView();
  else show($('scan'), true);
}

async function rejoin(saved) {
  try {
    await joinCall(saved, { rejoin: true });
  } catch (e) {
    console.warn('rejoin', e);
    clearCall();
    if (!session || session.ended) {
      show($('call'), false);
      show($('scan'), true);
      $('scan-error').textContent = e?.status === 401 || e?.status === 403 ? 'Your call has ended.' : describeError(e, 'rejoin your call');
    }
  }
}

// ---- scanning: BarcodeDetector where the browser has it, jsQR otherwise ----
async function startScanner() {
  $('scan-error').textContent = '';
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch {
    $('scan-error').textContent = 'No camera available: paste the code or link instead.';
    return;
  }
  const video = $('scan-video');
  video.hidden = false;
  video.srcObject = stream;
  await video.play().catch(() => {});
  scanning = true;
  const detector = 'BarcodeDetector' in window && (await window.BarcodeDetector.getSupportedFormats()).includes('qr_code')
    ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
  const canvas = $('scan-canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const tick = async () => {
    if (!scanning) return;
    let text = null;
    if (video.readyState >= 2) {
      if (detector) {
        const codes = await detector.detect(video).catch(() => []);
        text = codes[0]?.rawValue ?? null;
      } else if (window.jsQR) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0);
        const image = context.getImageData(0, 0, canvas.width, canvas.height);
        text = window.jsQR(image.data, image.width, image.height, { inversionAttempts: 'dontInvert' })?.data ?? null;
      }
    }
    if (text && /pq[cs]:1:/i.test(text)) await useCode(text);
    else setTimeout(tick, 200);
  };
  tick();
}

function stopScanner() {
  scanning = false;
  const video = $('scan-video');
  video.srcObject?.getTracks().forEach((t) => t.stop());
  video.srcObject = null;
  video.hidden = true;
}

catchStrayErrors((message) => { $(session ? 'call-note' : 'code-error').textContent = message; });
$('scan-start').addEventListener('click', startScanner);
$('manual-form').addEventListener('submit', (e) => { e.preventDefault(); useCode($('manual-payload').value); });

const savedCall = loadCall();
if (location.hash.length > 1) {
  // A link opened in this tab wins over a call this tab had (that one ends by itself once gone).
  clearCall();
  useCode(takeFragment());
} else if (savedCall) {
  rejoin(savedCall);
} else {
  show($('scan'), true);
}
window.addEventListener('hashchange', () => { if (!session && location.hash.length > 1) useCode(takeFragment()); });
