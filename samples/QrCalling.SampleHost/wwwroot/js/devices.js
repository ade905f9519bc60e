// Devices paired by QR (owner page): show a single-use pairing QR, confirm a new device by the check code both show,
// rename and remove devices. The new device's side is pair.html / pair.js.
import { $, describeError, el, show } from './api.js';
import { confirmAction } from './codes.js';

let authed = null;
let pollTimer = null;
let countdownTimer = null;

const when = (iso) => new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
/** "123456" shown as "123 456", easier to compare. */
export const spaced = (code) => `${code.slice(0, 3)} ${code.slice(3)}`;

function setStatus(text) { $('devices-status').textContent = text; }
function setError(text) { $('devices-error').textContent = text; }

function deviceRow(device) {
  const name = el('strong', { testid: 'device-name' }, device.name);
  const detail = device.confirmed
    ? el('span', { class: 'hint', testid: 'device-detail' },
        `Added ${when(device.createdAt)} · ${device.lastSeenAt ? `last online ${when(device.lastSeenAt)}` : 'not online yet'}`)
    : el('span', { class: 'pending', testid: 'device-detail' },
        `Waiting for you to confirm: check that the new device shows ${spaced(device.checkCode)}.`);
  const actions = el('div', { class: 'row' });
  if (!device.confirmed) {
    actions.append(el('button', { type: 'button', testid: 'device-confirm', onclick: () => confirmDevice(device) }, `It shows ${spaced(device.checkCode)}: confirm`));
  }
  actions.append(
    el('button', { type: 'button', class: 'secondary', testid: 'device-rename', onclick: () => startRename(row, device) }, 'Rename'),
    el('button', { type: 'button', class: 'danger', testid: 'device-remove', onclick: () => removeDevice(device) }, device.confirmed ? 'Remove' : 'Not mine: remove'));
  const row = el('li', { class: 'device', testid: 'device-row', 'data-device-id': device.deviceId, 'data-confirmed': String(device.confirmed) },
    el('div', {}, name, el('br'), detail), actions);
  return row;
}

function startRename(row, device) {
  const input = el('input', { testid: 'device-rename-input', 'aria-label': `New name for ${device.name}`, maxlength: '64', autocomplete: 'off' });
  input.value = device.name;
  const form = el('form', { class: 'row', testid: 'device-rename-form' }, input,
    el('button', { type: 'submit', testid: 'device-rename-save' }, 'Save'),
    el('button', { type: 'button', class: 'secondary', onclick: () => loadDevices() }, 'Cancel'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await authed(`/devices/${encodeURIComponent(device.deviceId)}`, { method: 'PATCH', body: { name: input.value } });
      setStatus(`Renamed to “${input.value.trim()}”.`);
      await loadDevices();
    } catch (e) {
      setError(e.code === 'invalid_request' ? 'A device name is 1 to 64 characters.' : describeError(e, 'rename the device'));
    }
  });
  row.replaceChildren(form);
  input.focus();
}

async function confirmDevice(device) {
  setError('');
  try {
    await authed(`/devices/${encodeURIComponent(device.deviceId)}/confirm`, { method: 'POST', body: { checkCode: device.checkCode } });
    setStatus(`“${device.name}” now rings for your calls.`);
    await loadDevices();
  } catch (e) {
    setError(describeError(e, 'confirm the device'));
  }
}

async function removeDevice(device) {
  const ok = await confirmAction({
    title: `Remove “${device.name}”?`,
    text: 'It stops ringing at once and has to be paired again to come back.',
    confirm: 'Remove device',
  });
  if (!ok) return;
  setError('');
  try {
    await authed(`/devices/${encodeURIComponent(device.deviceId)}`, { method: 'DELETE' });
    setStatus(`“${device.name}” was removed and no longer rings.`);
  } catch (e) {
    setError(describeError(e, 'remove the device'));
  }
  await loadDevices();
}

/** Lists the paired devices; while a pairing QR is up, a new device that used it replaces the QR. */
export async function loadDevices() {
  if (!authed) return [];
  let devices;
  try {
    devices = await authed('/devices');
  } catch (e) {
    setError(describeError(e, 'load your devices'));
    return [];
  }
  $('devices').replaceChildren(...devices.map(deviceRow));
  show($('devices-empty'), devices.length === 0);
  return devices;
}

function hidePairing() {
  clearInterval(pollTimer);
  clearInterval(countdownTimer);
  show($('pairing'), false);
  $('pair-start').disabled = false;
}

async function startPairing() {
  setError('');
  setStatus('');
  $('pair-start').disabled = true;
  let pairing;
  try {
    pairing = await authed('/devices/pairing', { method: 'POST' });
  } catch (e) {
    $('pair-start').disabled = false;
    setError(describeError(e, 'start pairing'));
    return;
  }
  const known = new Set((await loadDevices()).map((d) => d.deviceId));
  $('pairing-qr').src = pairing.qrCode;
  $('pairing-link').value = pairing.link;
  show($('pairing'), true);
  const expires = new Date(pairing.expiresAt).getTime();
  const tick = () => {
    const left = Math.max(0, Math.round((expires - Date.now()) / 1000));
    $('pairing-countdown').textContent = left > 0
      ? `Scan this with the new device's camera. It works once, for ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} more.`
      : 'This pairing code has expired.';
    if (left === 0) { hidePairing(); setStatus('The pairing code expired unused. Show a new one when the other device is ready.'); }
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
  pollTimer = setInterval(async () => {
    const devices = await loadDevices();
    const fresh = devices.find((d) => !known.has(d.deviceId) && !d.confirmed);
    if (fresh) {
      hidePairing();
      setStatus(`A new device, “${fresh.name}”, used the code. Compare the check code, then confirm it below.`);
    }
  }, 2000);
}

export function initDevices(options) {
  authed = options.authed;
  $('pair-start').addEventListener('click', startPairing);
  $('pair-cancel').addEventListener('click', hidePairing);
  $('pairing-copy').addEventListener('click', async () => {
    try { await navigator.clipboard.writeText($('pairing-link').value); setStatus('Link copied. Open it on the new device.'); } catch { $('pairing-link').select(); }
  });
}

export function clearDevices() {
  hidePairing();
  $('devices').replaceChildren();
}
