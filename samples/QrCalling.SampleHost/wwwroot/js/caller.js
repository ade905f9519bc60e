// The caller page (/c#PQC:1:...): the payload comes from the URL fragment (never sent to the server in a URL) or from
// the camera; it travels only in the bodies of POST /scan and POST /calls.
import { $, api, connectHub, debugState, show } from './api.js';
import { CallSession, renderCallView, routeCallEvents } from './call.js';

const debug = debugState();
let payload = null;
let session = null;
let hub = null;
let scanning = false;

const NOT_A_CODE = 'That is not a QrCalling code.';

/** The payload from a scanned or pasted text: a link's fragment, or the text itself; null when it cannot be decoded
 * (a stray '%' makes decodeURIComponent throw). */
function payloadFrom(text) {
  const trimmed = (text || '').trim();
  const hash = trimmed.indexOf('#');
  try {
    return decodeURIComponent(hash >= 0 ? trimmed.slice(hash + 1) : trimmed).trim();
  } catch {
    return null;
  }
}

async function useCode(text) {
  const decoded = payloadFrom(text);
  if (decoded === null) {
    show($('scan'), true);
    show($('code'), false);
    $('scan-error').textContent = NOT_A_CODE;
    return;
  }
  payload = decoded;
  $('scan-error').textContent = '';
  try {
    const info = await api('/scan', { method: 'POST', body: { payload } });
    stopScanner();
    show($('scan'), false);
    show($('code'), true);
    $('code-label').textContent = info.label || 'Call';
    for (const button of document.querySelectorAll('#media-buttons button')) {
      button.hidden = !info.media.includes(button.dataset.media);
      button.onclick = () => startCall(button.dataset.media);
    }
  } catch (e) {
    show($('scan'), true);
    $('scan-error').textContent = e.code === 'unavailable' ? 'This code is not available (unknown, revoked, expired or used up).'
      : e.code === 'checksum' ? 'The code was misread: try again.'
      : e.code === 'malformed' ? NOT_A_CODE : e.message;
  }
}

async function startCall(media) {
  $('code-error').textContent = '';
  for (const button of document.querySelectorAll('#media-buttons button')) button.disabled = true;
  try {
    const started = await api('/calls', { method: 'POST', body: { payload, media } });
    debug.callId = started.callId;
    hub = connectHub(() => started.callToken);
    debug.hub = hub;
    routeCallEvents(hub, () => session);
    await hub.start();
    $('hub-state').textContent = 'online';
    renderCallView();
    show($('code'), false);
    session = new CallSession({
      hub, callId: started.callId, myId: started.callerId, role: 'caller', media,
      iceServers: async () => started.iceServers ?? [],
      onEnded: () => { hub.stop(); },
    });
    await session.startAsCaller();
    // The owner may have accepted (and sent its key) before this connection was up: catch up from the mailbox.
    await session.resume(true);
  } catch (e) {
    $('code-error').textContent = e.code === 'unavailable' ? 'This code is not available any more.' : `Could not start the call: ${e.message}`;
    for (const button of document.querySelectorAll('#media-buttons button')) button.disabled = false;
  }
}

// ---- scanning: BarcodeDetector where the browser has it, jsQR otherwise ----
async function startScanner() {
  $('scan-error').textContent = '';
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch {
    $('scan-error').textContent = 'No camera: paste the code or link instead.';
    return;
  }
  const video = $('scan-video');
  video.hidden = false;
  video.srcObject = stream;
  await video.play();
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
    if (text && /pqc:1:/i.test(text)) await useCode(text);
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

$('scan-start').addEventListener('click', startScanner);
$('manual-form').addEventListener('submit', (e) => { e.preventDefault(); useCode($('manual-payload').value); });

if (location.hash.length > 1) {
  useCode(location.hash);
} else {
  show($('scan'), true);
}
window.addEventListener('hashchange', () => { if (!session && location.hash.length > 1) useCode(location.hash); });
