// The owner's list of codes: show and print a code's QR again (from this device's encrypted vault), share or copy its
// link, edit its label and media, pause and resume it, replace (rotate), withdraw (revoke) and delete it, each with a confirmation; dates and
// live counts, refreshed on call events and every 15 s without redrawing rows that did not change.
import { $, describeError, el } from './api.js';
import { forgetCode, keepCode, keptCodeIds, readCode } from './code-vault.js';
import { openWhoMayCall, quotaText } from './caller-controls.js';

export const MAX_LABEL = 80;
const REPLACED_KEY = 'qrcalling.owner.replaced';
const REFRESH_MS = 15000;
const MEDIA_NAMES = { audio: 'voice', video: 'video', chat: 'chat' };

let ctx = null; // { authed, showQr }
const rows = new Map(); // code id -> { signature, node }
let loading = null;
let again = false;
let refreshTimer = null;
let justCreated = null;

// ---- labels: a label is required here (it tells the person who scans what they are calling) and never cut ----

/** What is wrong with a label, in words, or null. The API allows an empty label; this app asks for one. */
export function labelProblem(text) {
  const label = text.trim();
  if (!label) return 'Add a label: it tells the person who scans what they are calling (for example “Blue van” or “Front door”).';
  if (label.length > MAX_LABEL) return `The label is ${label.length} characters long; the limit is ${MAX_LABEL}. Shorten it.`;
  return null;
}

/** A live "n / 80" counter under a label field; over the limit it turns into an error (nothing is cut). */
export function attachLabelCounter(input) {
  input.removeAttribute('maxlength');
  let counter = document.getElementById(`${input.id}-count`);
  if (!counter) {
    counter = el('p', { id: `${input.id}-count`, class: 'hint counter', testid: `${input.id}-count`, 'aria-live': 'polite' });
    input.after(counter);
    input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), counter.id].filter(Boolean).join(' '));
  }
  const update = () => {
    const length = input.value.trim().length;
    counter.textContent = length > MAX_LABEL
      ? `${length} / ${MAX_LABEL} characters: ${length - MAX_LABEL} too many`
      : `${length} / ${MAX_LABEL} characters`;
    counter.classList.toggle('over', length > MAX_LABEL);
    input.setAttribute('aria-invalid', String(length > MAX_LABEL));
  };
  input.addEventListener('input', update);
  update();
  return update;
}

// ---- dialogs (native <dialog>: modal, focus kept inside, Escape cancels) ----

function dialogShell(id, titleId) {
  let dialog = document.getElementById(id);
  if (!dialog) {
    dialog = el('dialog', { id, class: 'dialog', testid: id, 'aria-labelledby': titleId });
    document.body.append(dialog);
  }
  return dialog;
}

/** Asks before something that cannot be undone; resolves true only for the confirm button. */
export function confirmAction({ title, text, confirm }) {
  const dialog = dialogShell('confirm-dialog', 'confirm-title');
  const cancel = el('button', { type: 'submit', value: 'cancel', class: 'secondary', testid: 'confirm-cancel' }, 'Cancel');
  const ok = el('button', { type: 'submit', value: 'ok', class: 'danger', testid: 'confirm-ok' }, confirm);
  dialog.setAttribute('aria-describedby', 'confirm-text');
  dialog.replaceChildren(el('form', { method: 'dialog' },
    el('h2', { id: 'confirm-title' }, title),
    el('p', { id: 'confirm-text' }, text),
    el('div', { class: 'row' }, cancel, ok)));
  const back = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      if (back?.isConnected) back.focus();
    }, { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    cancel.focus(); // the safe choice has the focus: Enter alone does not destroy anything
  });
}

/** Edits a code's label and media; resolves with the updated code, or null when canceled. */
function editCode(code) {
  const dialog = dialogShell('edit-dialog', 'edit-title');
  const input = el('input', { id: 'edit-label', testid: 'edit-label', autocomplete: 'off' });
  input.value = code.label;
  const boxes = Object.entries(MEDIA_NAMES).map(([value, name]) => {
    const box = el('input', { type: 'checkbox', name: 'edit-media', value, testid: `edit-media-${value}` });
    box.checked = code.media.includes(value);
    return el('label', {}, box, ` ${name[0].toUpperCase()}${name.slice(1)}`);
  });
  const error = el('p', { class: 'error', role: 'alert', testid: 'edit-error' });
  const save = el('button', { type: 'submit', value: 'save', testid: 'edit-save' }, 'Save');
  const cancel = el('button', { type: 'button', class: 'secondary', testid: 'edit-cancel', onclick: () => dialog.close('') }, 'Cancel');
  const form = el('form', { method: 'dialog', novalidate: true },
    el('h2', { id: 'edit-title' }, 'Edit code'),
    el('label', { for: 'edit-label' }, 'Label (shown to whoever scans)'), input,
    el('fieldset', {}, el('legend', {}, 'Allowed'), ...boxes),
    el('p', { class: 'hint' }, 'Calls already in progress keep what was allowed when they started. The printed QR stays the same.'),
    error,
    el('div', { class: 'row' }, cancel, save));
  dialog.replaceChildren(form);
  attachLabelCounter(input);
  const back = document.activeElement;
  let result = null;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const problem = labelProblem(input.value);
    const media = boxes.map((l) => l.querySelector('input')).filter((b) => b.checked).map((b) => b.value);
    if (problem) { error.textContent = problem; input.focus(); return; }
    if (media.length === 0) { error.textContent = 'Allow at least one of voice, video or chat.'; return; }
    save.disabled = true;
    try {
      result = await ctx.authed(`/codes/${encodeURIComponent(code.id)}`, { method: 'PATCH', body: { label: input.value.trim(), media } });
      dialog.close('saved');
    } catch (e) {
      error.textContent = describeError(e, 'save the code');
    } finally {
      save.disabled = false;
    }
  });
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => { resolve(result); if (back?.isConnected) back.focus(); }, { once: true });
    dialog.showModal();
    input.focus();
  });
}

// ---- the list ----

function replacedMap() {
  try { return JSON.parse(localStorage.getItem(REPLACED_KEY) || '{}'); } catch { return {}; }
}

/** Remembers that a rotation replaced `oldId` by `newId` (this device's note; the server only knows it was revoked). */
function markReplaced(oldId, newId) {
  const map = replacedMap();
  map[oldId] = newId;
  localStorage.setItem(REPLACED_KEY, JSON.stringify(map));
}

function statusOf(code, replaced) {
  if (code.revokedAt) return replaced[code.id] ? 'replaced' : 'withdrawn';
  if (code.expiresAt && new Date(code.expiresAt) <= new Date()) return 'expired';
  if (code.maxScans && code.scanCount >= code.maxScans) return 'used up';
  if (code.state === 'paused' || code.pausedAt) return 'paused';
  return 'active';
}

const when = (iso) => new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });

function feedback(text) {
  let box = $('codes-status');
  if (!box) {
    box = el('p', { id: 'codes-status', class: 'feedback', role: 'status', testid: 'codes-status' });
    $('codes-error').before(box);
  }
  box.textContent = text;
  clearTimeout(box.timer);
  box.timer = setTimeout(() => { box.textContent = ''; }, 6000);
}

async function act(what, action) {
  $('codes-error').textContent = '';
  try {
    await action();
  } catch (e) {
    $('codes-error').textContent = describeError(e, what);
  }
  await loadCodes();
}

async function showAgain(code) {
  const kept = await readCode(code.id);
  if (!kept) {
    $('codes-error').textContent = 'The QR of this code is available only on the device that created it.';
    return;
  }
  await act('show the QR', () => ctx.showQr({ ...code, payload: kept.payload, link: kept.link }, { again: true }));
}

async function shareLink(code, button) {
  const kept = await readCode(code.id);
  if (!kept) return;
  const label = code.label || 'my code';
  try {
    if (typeof navigator.share === 'function') {
      await navigator.share({ title: `Call me: ${label}`, text: `Call the owner of “${label}” (anonymous, no app needed):`, url: kept.link });
      feedback(`The link of “${label}” was shared.`);
    } else {
      await navigator.clipboard.writeText(kept.link);
      feedback(`The link of “${label}” was copied. Anyone with it can call you.`);
      button.textContent = 'Copied ✓';
      setTimeout(() => { button.textContent = 'Copy link'; }, 2000);
    }
  } catch (e) {
    if (e?.name === 'AbortError') return; // the person closed the share sheet
    feedback(`Could not copy automatically. The link: ${kept.link}`);
  }
}

/** Pauses or resumes a code: while paused, whoever scans it is told it is not available (nothing else changes). */
async function setPaused(code, name, paused) {
  await act(paused ? 'pause the code' : 'resume the code', async () => {
    await ctx.authed(`/codes/${encodeURIComponent(code.id)}/${paused ? 'pause' : 'resume'}`, { method: 'POST' });
    feedback(paused
      ? `“${name}” is paused: whoever scans it is told it is not available, until you resume it.`
      : `“${name}” takes calls again.`);
  });
}

async function rotate(code, name) {
  const ok = await confirmAction({
    title: 'Replace this code?',
    text: `“${name}” gets a new QR. The old one stops working at once (a call on it now ends), so stickers with it must be replaced.`,
    confirm: 'Replace code',
  });
  if (!ok) return;
  await act('replace the code', async () => {
    const created = await ctx.authed(`/codes/${encodeURIComponent(code.id)}/rotate`, { method: 'POST' });
    markReplaced(code.id, created.id);
    await keepCode(created.id, created.payload, created.link);
    await forgetCode(code.id);
    justCreated = created.id;
    await ctx.showQr(created);
  });
}

async function withdraw(code, name) {
  const ok = await confirmAction({
    title: 'Withdraw this code?',
    text: `Nobody can call you through “${name}” any more, and a call on it now ends. This cannot be undone; the code stays in the list until you delete it.`,
    confirm: 'Withdraw code',
  });
  if (!ok) return;
  await act('withdraw the code', async () => {
    await ctx.authed(`/codes/${encodeURIComponent(code.id)}/revoke`, { method: 'POST' });
    await forgetCode(code.id);
  });
}

async function remove(code, name) {
  const ok = await confirmAction({
    title: 'Delete this code?',
    text: `“${name}” is deleted for good: its QR stops working at once, a call on it now ends, and it leaves this list. Past calls stay in your history.`,
    confirm: 'Delete code',
  });
  if (!ok) return;
  await act('delete the code', async () => {
    await ctx.authed(`/codes/${encodeURIComponent(code.id)}`, { method: 'DELETE' });
    await forgetCode(code.id);
    feedback(`“${name}” was deleted.`);
  });
}

function renderRow(code, kept, replaced) {
  const state = statusOf(code, replaced);
  const name = code.label || '(no label)';
  const media = code.media.map((m) => MEDIA_NAMES[m] ?? m).join(', ');
  const dates = el('span', { class: 'dates', testid: 'code-dates' },
    `Created ${when(code.createdAt)} · ${code.lastScannedAt ? `last call ${when(code.lastScannedAt)}` : 'no calls yet'}`);
  const actions = el('td', { class: 'actions' });
  const button = (text, testid, label, onclick, cls = 'secondary') =>
    el('button', { type: 'button', class: cls, testid, 'aria-label': label.includes('{name}') ? label.replace('{name}', name) : `${label} ${name}`, onclick }, text);
  if (state === 'active') {
    if (kept) {
      const share = button(typeof navigator.share === 'function' ? 'Share link' : 'Copy link', 'share-link', 'Share the link of', null);
      share.addEventListener('click', () => shareLink(code, share));
      actions.append(button('Show QR', 'show-qr', 'Show and print the QR of', () => showAgain(code), ''), share);
    } else {
      actions.append(el('span', { class: 'hint qr-elsewhere', testid: 'qr-elsewhere' }, 'QR available only on the device that created it'));
    }
    actions.append(
      button('Edit', 'edit-code', 'Edit the code', async () => { if (await editCode(code)) { feedback(`“${name}” was saved.`); await loadCodes(); } }),
      button('Who may call', 'who-may-call', 'Who may call, and when, for', () => openWhoMayCall(code, { authed: ctx.authed, feedback })),
      button('Pause', 'pause-code', 'Pause the code', () => setPaused(code, name, true)),
      button('Replace', 'rotate-code', 'Replace the code {name} with a new one', () => rotate(code, name)),
      button('Withdraw', 'revoke-code', 'Withdraw the code', () => withdraw(code, name), 'danger'));
  }
  if (state === 'paused') {
    actions.append(
      el('span', { class: 'hint paused-note', testid: 'paused-note' }, `Paused since ${when(code.pausedAt)}: nobody can call through it until you resume it.`),
      button('Resume', 'resume-code', 'Resume the code', () => setPaused(code, name, false), ''),
      button('Edit', 'edit-code', 'Edit the code', async () => { if (await editCode(code)) { feedback(`“${name}” was saved.`); await loadCodes(); } }),
      button('Withdraw', 'revoke-code', 'Withdraw the code', () => withdraw(code, name), 'danger'));
  }
  actions.append(button('Delete', 'delete-code', 'Delete the code', () => remove(code, name), 'danger'));
  const statusCell = el('td', { class: `status status-${state.replace(' ', '-')}`, testid: 'code-status' },
    state === 'replaced' ? 'Replaced' : state);
  if (state === 'replaced') statusCell.append(el('span', { class: 'hint' }, ' by a new code'));
  return el('tr', { testid: 'code-row', 'data-code-id': code.id, 'data-state': state, class: code.id === justCreated ? 'just-created' : '' },
    el('td', {}, el('span', { class: 'code-name', testid: 'code-name' }, name), dates),
    el('td', {}, media),
    el('td', { testid: 'code-calls', title: quotaText(code), 'aria-label': quotaText(code) }, `${code.scanCount}${code.maxScans ? ' / ' + code.maxScans : ''}`),
    statusCell,
    actions);
}

/** Draws the list: rows that did not change stay as they are (no flicker, focus kept); changed rows are swapped. */
function render(codes, keptIds, replaced) {
  const body = $('codes');
  const seen = new Set();
  codes.forEach((code, index) => {
    const kept = keptIds.has(code.id);
    const signature = JSON.stringify([code, kept, statusOf(code, replaced), code.id === justCreated]);
    let entry = rows.get(code.id);
    if (!entry || entry.signature !== signature) {
      const node = renderRow(code, kept, replaced);
      if (entry) {
        const focused = entry.node.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
        entry.node.replaceWith(node);
        if (focused) node.querySelector(`[data-testid="${focused}"]`)?.focus();
      }
      entry = { signature, node };
      rows.set(code.id, entry);
    }
    if (body.children[index] !== entry.node) body.insertBefore(entry.node, body.children[index] ?? null);
    seen.add(code.id);
  });
  for (const [id, entry] of rows) {
    if (!seen.has(id)) { entry.node.remove(); rows.delete(id); }
  }
  $('codes-empty')?.toggleAttribute('hidden', codes.length > 0);
  window.dispatchEvent(new CustomEvent('qrcalling:codes-loaded', { detail: codes })); // other sections follow the list
}

/** Loads and draws the list; calls that come while one load runs make one more load after it. */
export function loadCodes() {
  if (loading) { again = true; return loading; }
  loading = (async () => {
    try {
      const [codes, keptIds] = await Promise.all([ctx.authed('/codes'), keptCodeIds()]);
      render(codes, keptIds, replacedMap());
      if ($('codes-error').dataset.fromLoad) { $('codes-error').textContent = ''; delete $('codes-error').dataset.fromLoad; }
    } catch (e) {
      $('codes-error').textContent = describeError(e, 'load your codes');
      $('codes-error').dataset.fromLoad = '1';
    } finally {
      loading = null;
    }
    if (again) { again = false; await loadCodes(); }
  })();
  return loading;
}

/** A call started or ended: counts changed. Several events close together make one load. */
export function refreshCodesSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { if (ctx?.signedIn()) loadCodes(); }, 300);
}

/** A code was just created here: keep it in the vault and point it out in the list. */
export async function codeCreated(created) {
  justCreated = created.id;
  return keepCode(created.id, created.payload, created.link);
}

/** Wires the list to the page: `authed` is the page's authenticated fetch, `showQr` shows a code's sticker. */
export function initCodes({ authed, showQr, signedIn }) {
  ctx = { authed, showQr, signedIn };
  setInterval(() => { if (signedIn() && document.visibilityState === 'visible') loadCodes(); }, REFRESH_MS);
  document.addEventListener('visibilitychange', () => { if (signedIn() && document.visibilityState === 'visible') loadCodes(); });
}

/** Signing out: the next account starts with an empty list. */
export function clearCodes() {
  rows.clear();
  $('codes').replaceChildren();
  justCreated = null;
}
