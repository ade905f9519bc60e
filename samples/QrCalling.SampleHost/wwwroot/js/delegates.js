// People who answer too (owner page): the owner invites someone they trust to answer a code's calls when nobody picks
// up (a single-use link or QR), sees who answers which code and removes them. The invited person opens the link while
// signed in with their own account (the page is /delegate#<invitation>), accepts, and from then on this page rings for
// that code too. Nobody learns anything about the other account; the caller learns nothing about who answers.
import { $, describeError, el, show } from './api.js';
import { confirmAction } from './codes.js';

const PENDING_KEY = 'qrcalling.delegate.invitation';
let authed = null;
let countdownTimer = null;

function setStatus(text) { $('delegates-status').textContent = text; }
function setError(text) { $('delegates-error').textContent = text; }
const when = (iso) => new Date(iso).toLocaleDateString([], { dateStyle: 'medium' });
const seconds = (n) => (n === 0 ? 'at once' : `after ${n} seconds`);

function acceptError(e) {
  switch (e.code) {
    case 'invitation_unavailable': return 'This invitation has already been used or has expired. Ask for a new one.';
    case 'invalid_request': return 'This invitation is for one of your own codes: open the link on the phone of the person who should answer too.';
    case 'quota_exceeded': return 'This code already has as many people answering as it can. Ask its owner to remove someone first.';
    default: return describeError(e, 'accept the invitation');
  }
}

/** The page was opened from an invitation link: keep the invitation (not in the address bar) until someone is signed in. */
export function takeInvitationFromUrl() {
  const hash = location.hash.slice(1);
  if (location.pathname === '/delegate' && hash.startsWith('qdi_')) {
    sessionStorage.setItem(PENDING_KEY, hash);
  }
  if (location.pathname === '/delegate') history.replaceState(null, '', '/');
  const pending = sessionStorage.getItem(PENDING_KEY) !== null;
  show($('delegate-invited'), pending);
  return pending;
}

/** Signed in: accepts a kept invitation, then lists both sides. */
export async function loadDelegates() {
  if (!authed) return;
  const pending = sessionStorage.getItem(PENDING_KEY);
  if (pending) {
    sessionStorage.removeItem(PENDING_KEY);
    show($('delegate-invited'), false);
    try {
      const accepted = await authed('/delegates/accept', { method: 'POST', body: { invitationPayload: pending } });
      setStatus(`You now answer calls to “${accepted.label}” when nobody picks up ${seconds(accepted.ringAfterSeconds)}. Keep this page open (or allow notifications) to hear them ring.`);
    } catch (e) {
      setError(acceptError(e));
    }
  }
  await Promise.all([loadMine(), loadOthers()]);
}

async function loadOthers(loaded) {
  let codes;
  try {
    codes = (loaded ?? await authed('/codes')).filter((c) => !c.revokedAt);
  } catch (e) {
    setError(describeError(e, 'load your codes'));
    return;
  }
  const select = $('delegate-code');
  const chosen = select.value;
  select.replaceChildren(...codes.map((c) => el('option', { value: c.id }, c.label)));
  if (codes.some((c) => c.id === chosen)) select.value = chosen;
  show($('delegate-invite-form'), codes.length > 0);
  show($('delegates-nocodes'), codes.length === 0);
  const rows = [];
  for (const code of codes) {
    try {
      for (const d of await authed(`/codes/${encodeURIComponent(code.id)}/delegates`)) {
        rows.push(el('li', { class: 'device', testid: 'delegate-row', 'data-delegate-id': d.delegateId },
          el('div', {}, el('strong', {}, `Someone answers “${code.label}”`), el('br'),
            el('span', { class: 'hint' }, `Their phone rings ${seconds(d.ringAfterSeconds)} if you do not answer · since ${when(d.createdAt)}`)),
          el('div', { class: 'row' }, el('button', { type: 'button', class: 'danger', testid: 'delegate-remove', onclick: () => remove(code, d) }, 'Remove'))));
      }
    } catch (e) {
      setError(describeError(e, 'load who answers your codes'));
    }
  }
  $('delegates').replaceChildren(...rows);
  show($('delegates-empty'), rows.length === 0 && codes.length > 0);
}

async function loadMine() {
  let mine;
  try {
    mine = await authed('/delegates');
  } catch (e) {
    setError(describeError(e, 'load the codes you answer for'));
    return;
  }
  $('delegations').replaceChildren(...mine.map((d) => el('li', { class: 'device', testid: 'delegation-row', 'data-delegate-id': d.delegateId },
    el('div', {}, el('strong', {}, `You answer “${d.label}”`), el('br'),
      el('span', { class: 'hint' }, `Your phone rings ${seconds(d.ringAfterSeconds)} when nobody picks up`)),
    el('div', { class: 'row' }, el('button', { type: 'button', class: 'secondary', testid: 'delegation-leave', onclick: () => leave(d) }, 'Stop answering')))));
  show($('delegations-block'), mine.length > 0);
}

async function remove(code, d) {
  const ok = await confirmAction({
    title: `Stop them answering “${code.label}”?`,
    text: 'Their phone stops ringing for this code at once. To undo it, invite them again.',
    confirm: 'Remove',
  });
  if (!ok) return;
  setError('');
  try {
    await authed(`/codes/${encodeURIComponent(code.id)}/delegates/${encodeURIComponent(d.delegateId)}`, { method: 'DELETE' });
    setStatus(`They no longer answer “${code.label}”.`);
  } catch (e) {
    setError(describeError(e, 'remove them'));
  }
  await loadOthers();
}

async function leave(d) {
  const ok = await confirmAction({
    title: `Stop answering “${d.label}”?`,
    text: 'Calls to this code will not ring here any more. Its owner has to invite you again to undo it.',
    confirm: 'Stop answering',
  });
  if (!ok) return;
  setError('');
  try {
    await authed(`/delegates/${encodeURIComponent(d.delegateId)}`, { method: 'DELETE' });
    setStatus(`You no longer answer “${d.label}”.`);
  } catch (e) {
    setError(describeError(e, 'stop answering'));
  }
  await loadMine();
}

function hideInvitation() {
  clearInterval(countdownTimer);
  show($('delegate-invitation'), false);
  $('delegate-invite').disabled = false;
}

async function invite(event) {
  event.preventDefault();
  setError('');
  setStatus('');
  const codeId = $('delegate-code').value;
  const label = $('delegate-code').selectedOptions[0]?.textContent ?? '';
  $('delegate-invite').disabled = true;
  let invitation;
  try {
    invitation = await authed(`/codes/${encodeURIComponent(codeId)}/delegates/invitations`, {
      method: 'POST', body: { ringAfterSeconds: Number($('delegate-after').value) },
    });
  } catch (e) {
    $('delegate-invite').disabled = false;
    setError(describeError(e, 'make an invitation'));
    return;
  }
  $('delegate-qr').src = invitation.qrCode;
  $('delegate-link').value = invitation.link;
  show($('delegate-invitation'), true);
  const expires = new Date(invitation.expiresAt).getTime();
  const tick = () => {
    const left = Math.max(0, Math.round((expires - Date.now()) / 1000));
    $('delegate-countdown').textContent = left > 0
      ? `Let them scan this, or send them the link, for “${label}”. They open it signed in with their own account. It works once, for ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} more.`
      : 'This invitation has expired. Make a new one when they are ready.';
    if (left === 0) hideInvitation();
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

export function initDelegates(options) {
  authed = options.authed;
  // A code made, edited or withdrawn: the code picker and the list follow.
  window.addEventListener('qrcalling:codes-loaded', (event) => { if (options.signedIn()) loadOthers(event.detail); });
  $('delegate-invite-form').addEventListener('submit', invite);
  $('delegate-done').addEventListener('click', async () => { hideInvitation(); await loadOthers(); });
  $('delegate-copy').addEventListener('click', async () => {
    try { await navigator.clipboard.writeText($('delegate-link').value); setStatus('Link copied. Send it to the person who should answer too.'); } catch { $('delegate-link').select(); }
  });
}

export function clearDelegates() {
  hideInvitation();
  $('delegates').replaceChildren();
  $('delegations').replaceChildren();
  setStatus('');
  setError('');
}
