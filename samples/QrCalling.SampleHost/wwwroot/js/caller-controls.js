// Who may call, and when (issue 14), on the owner page: per code, its call quota, a chat-only switch, quiet hours in the
// owner's time zone and the list of blocked callers (unblock); and "Block this caller" on a recent or ringing call. The
// server keeps only a per-code keyed hash of the caller's browser key: blocking tells the owner nothing about the caller.
import { describeError, el } from './api.js';
import { confirmAction } from './codes.js';

const DAYS = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']];
const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const day = (iso) => new Date(iso).toLocaleDateString([], { dateStyle: 'medium' });

/** "3 of 10 calls used (7 left)" or "3 calls so far (no limit)". */
export function quotaText(code) {
  if (!code.maxScans) return `${code.scanCount} call${code.scanCount === 1 ? '' : 's'} so far (no limit)`;
  const left = Math.max(0, code.maxScans - code.scanCount);
  return `${code.scanCount} of ${code.maxScans} calls used (${left} left)`;
}

/** What the code takes right now, in words. */
export function nowText(now, media) {
  const chat = media.includes('chat');
  if (now.quietUntil) {
    return chat
      ? `Quiet hours until ${time(now.quietUntil)}: no voice or video calls until then; chats still come in.`
      : `Quiet hours until ${time(now.quietUntil)}: nobody can call this code until then.`;
  }
  if (now.chatOnly) return chat ? 'Chats only: callers cannot start voice or video calls.' : 'Chats only, but this code does not allow chat: nobody can call it.';
  return 'Callers can reach you now with everything this code allows.';
}

function zoneOptions(selected) {
  let zones = [];
  try { zones = Intl.supportedValuesOf('timeZone'); } catch { zones = []; }
  if (!zones.includes(selected)) zones = [selected, ...zones];
  return zones.map((z) => { const o = el('option', { value: z }, z.replaceAll('_', ' ')); o.selected = z === selected; return o; });
}

function dialogShell() {
  let dialog = document.getElementById('who-dialog');
  if (!dialog) {
    dialog = el('dialog', { id: 'who-dialog', class: 'dialog who-dialog', testid: 'who-dialog', 'aria-labelledby': 'who-title' });
    document.body.append(dialog);
  }
  return dialog;
}

/** The "Who may call" dialog of one code: loads its availability and blocks, saves changes (PUT), unblocks. */
export async function openWhoMayCall(code, { authed, feedback }) {
  const name = code.label || '(no label)';
  const dialog = dialogShell();
  const status = el('p', { class: 'hint who-now', role: 'status', testid: 'who-now' }, 'Loading…');
  const error = el('p', { class: 'error', role: 'alert', testid: 'who-error' });
  const chatOnly = el('input', { type: 'checkbox', id: 'who-chat-only', testid: 'who-chat-only' });
  const quiet = el('input', { type: 'checkbox', id: 'who-quiet', testid: 'who-quiet' });
  const start = el('input', { type: 'time', id: 'who-start', testid: 'who-start', value: '22:00', required: true });
  const end = el('input', { type: 'time', id: 'who-end', testid: 'who-end', value: '07:00', required: true });
  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const zone = el('select', { id: 'who-zone', testid: 'who-zone' }, ...zoneOptions(localZone));
  const days = DAYS.map(([value, label]) => {
    const box = el('input', { type: 'checkbox', value, testid: `who-day-${value}` });
    box.checked = true;
    return { value, box, node: el('label', {}, box, ` ${label}`) };
  });
  const quietFields = el('div', { class: 'who-quiet-fields', testid: 'who-quiet-fields' },
    el('div', { class: 'who-times' },
      el('label', { for: 'who-start' }, 'From'), start,
      el('label', { for: 'who-end' }, 'to'), end),
    el('div', { class: 'who-days', role: 'group', 'aria-label': 'Days the quiet hours start' }, ...days.map((d) => d.node)),
    el('label', { for: 'who-zone' }, 'Your time zone'), zone,
    el('p', { class: 'hint' }, 'An end before the start runs overnight (22:00 to 07:00 ends the next morning). Daylight saving time is followed.'));
  const syncQuiet = () => { for (const input of quietFields.querySelectorAll('input, select')) input.disabled = !quiet.checked; };
  quiet.addEventListener('change', syncQuiet);
  const blocks = el('ul', { class: 'who-blocks', testid: 'who-blocks' });
  const save = el('button', { type: 'submit', testid: 'who-save' }, 'Save');
  const close = el('button', { type: 'button', class: 'secondary', testid: 'who-close', onclick: () => dialog.close('') }, 'Close');
  const form = el('form', { method: 'dialog', novalidate: true },
    el('h2', { id: 'who-title' }, `Who may call “${name}”`),
    el('p', { class: 'who-quota', testid: 'who-quota' }, `Calls: ${quotaText(code)}.`),
    status,
    el('fieldset', {}, el('legend', {}, 'Chat only'),
      el('label', { for: 'who-chat-only' }, chatOnly, ' Take chats only (no voice or video calls)')),
    el('fieldset', {}, el('legend', {}, 'Quiet hours'),
      el('label', { for: 'who-quiet' }, quiet, ' No voice or video calls during quiet hours (chats still come in)'),
      quietFields),
    error,
    el('div', { class: 'row' }, close, save),
    el('h3', {}, 'Blocked callers'),
    el('p', { class: 'hint' }, 'A blocked caller sees this code as not available. You never learn who they are, and they stay able to call your other codes.'),
    blocks);
  dialog.replaceChildren(form);
  syncQuiet();
  const back = document.activeElement;
  dialog.addEventListener('close', () => { if (back?.isConnected) back.focus(); }, { once: true });
  dialog.showModal();
  close.focus();

  const base = `/codes/${encodeURIComponent(code.id)}`;
  const show = (availability) => {
    chatOnly.checked = availability.chatOnly;
    quiet.checked = availability.quietHours !== null && availability.quietHours !== undefined;
    if (availability.quietHours) {
      start.value = availability.quietHours.start;
      end.value = availability.quietHours.end;
      for (const d of days) d.box.checked = availability.quietHours.days.includes(d.value);
      zone.replaceChildren(...zoneOptions(availability.quietHours.timeZone));
    }
    syncQuiet();
    status.textContent = nowText(availability.now, code.media);
  };
  const showBlocks = (list) => {
    if (list.length === 0) {
      blocks.replaceChildren(el('li', { class: 'empty', testid: 'who-blocks-empty' }, 'Nobody is blocked. You can block a caller from your call history.'));
      return;
    }
    blocks.replaceChildren(...list.map((block) => el('li', { testid: 'who-block' },
      el('span', {}, `A caller blocked on ${day(block.createdAt)}`),
      el('button', {
        type: 'button', class: 'secondary', testid: 'unblock', 'aria-label': `Unblock the caller blocked on ${day(block.createdAt)}`,
        onclick: async (event) => {
          event.currentTarget.disabled = true;
          error.textContent = '';
          try {
            await authed(`${base}/blocks/${encodeURIComponent(block.blockId)}`, { method: 'DELETE' });
            feedback('The caller was unblocked: they can call this code again.');
            showBlocks(await authed(`${base}/blocks`));
          } catch (e) {
            error.textContent = describeError(e, 'unblock the caller');
            event.currentTarget.disabled = false;
          }
        },
      }, 'Unblock'))));
  };
  try {
    const [availability, list] = await Promise.all([authed(`${base}/availability`), authed(`${base}/blocks`)]);
    show(availability);
    showBlocks(list);
  } catch (e) {
    status.textContent = '';
    error.textContent = describeError(e, 'load who may call');
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const chosenDays = days.filter((d) => d.box.checked).map((d) => d.value);
    if (quiet.checked && (!start.value || !end.value)) { error.textContent = 'Enter when the quiet hours start and end.'; return; }
    if (quiet.checked && start.value === end.value) { error.textContent = 'The quiet hours must end at another time than they start.'; return; }
    if (quiet.checked && chosenDays.length === 0) { error.textContent = 'Choose at least one day for the quiet hours.'; return; }
    const body = {
      chatOnly: chatOnly.checked,
      quietHours: quiet.checked ? { start: start.value.slice(0, 5), end: end.value.slice(0, 5), days: chosenDays, timeZone: zone.value } : null,
    };
    save.disabled = true;
    try {
      show(await authed(`${base}/availability`, { method: 'PUT', body }));
      feedback(`Saved who may call “${name}”.`);
    } catch (e) {
      error.textContent = describeError(e, 'save who may call');
    } finally {
      save.disabled = false;
    }
  });
}

/** Asks, then blocks the caller of a call on its code. Resolves true when blocked. */
export async function blockCaller(call, { authed, feedback, onError }) {
  const label = call.label || 'this code';
  const ok = await confirmAction({
    title: 'Block this caller?',
    text: `Whoever made this call will see “${label}” as not available from now on. You will not learn who they are. Other people can still call, and you can unblock them under “Who may call”.`,
    confirm: 'Block caller',
  });
  if (!ok) return false;
  try {
    await authed(`/calls/${encodeURIComponent(call.callId)}/block`, { method: 'POST' });
    feedback(`The caller was blocked on “${label}”.`);
    return true;
  } catch (e) {
    onError(e?.code === 'caller_unknown'
      ? 'This caller cannot be blocked: their app did not send a browser key, or the call is too old.'
      : describeError(e, 'block the caller'));
    return false;
  }
}
