// The admin page: live numbers and charts from /api/v1/admin/stats (polled), the runtime settings, the analytics export,
// feedback and waitlist, and the recent warnings and errors. Uses the owner page's saved sign-in (an admin account).
import { $, api, ApiError, catchStrayErrors, describeError, el, show } from './api.js';

const TOKEN_KEY = 'qrcalling.owner.token';
const SVG = 'http://www.w3.org/2000/svg';
const REFRESH_MS = Number(new URLSearchParams(location.search).get('refresh')) || 3000;
let login = JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null');
let timer = null;
const activeHistory = [];

const SCAN_WORDS = { ok: 'Reached a code', malformed: 'Not a code', checksum: 'Misread', unavailable: 'Code not available', other: 'Other' };
const END_WORDS = {
  hangup: 'Hung up', rejected: 'Declined', canceled: 'Caller gave up', missed: 'Not answered', timeout: 'Timed out',
  dropped: 'Connection lost', revoked: 'Code withdrawn', other: 'Other',
};

function showPageError(message) {
  $('page-error').textContent = message;
  $('page-error').hidden = !message;
}

function signedOut(message) {
  stop();
  show($('console'), false);
  show($('not-admin'), false);
  show($('signed-out'), true);
  if (message) $('signed-out-text').textContent = message;
}

function notAdmin() {
  stop();
  show($('console'), false);
  show($('signed-out'), false);
  show($('needs-two-step'), false);
  show($('not-admin'), true);
}

/** An admin account without two-step sign-in: the console stays closed until it is on. */
function needsTwoStep() {
  stop();
  show($('console'), false);
  show($('signed-out'), false);
  show($('not-admin'), false);
  show($('needs-two-step'), true);
}

const CLOSED = new Set(['admin_required', 'admin_mfa_required']);

function stop() {
  if (timer) clearInterval(timer);
  timer = null;
}

/** Calls the admin API with the saved sign-in; a 401 or 403 changes the page, anything else is thrown to the caller. */
async function admin(path, options = {}) {
  try {
    return await api(path, { ...options, token: login?.accessToken });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signedOut('Your session has ended. Sign in again on the start page.');
    else if (e instanceof ApiError && e.code === 'admin_required') notAdmin();
    else if (e instanceof ApiError && e.code === 'admin_mfa_required') needsTwoStep();
    throw e;
  }
}

function failure(id, e, what) {
  if (e instanceof ApiError && (e.status === 401 || CLOSED.has(e.code))) return;
  $(id).textContent = describeError(e, what);
}

function time(value) {
  return new Date(value).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

// ---- charts: inline SVG, no library ----
function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Horizontal bars, one per [label, value]. */
function barChart(container, entries, name) {
  container.replaceChildren();
  const rows = entries.filter(([, value]) => value > 0);
  if (rows.length === 0) {
    container.append(el('p', { class: 'empty' }, 'Nothing yet.'));
    return;
  }
  const max = Math.max(...rows.map(([, value]) => value));
  const rowHeight = 26;
  const chart = svg('svg', { viewBox: `0 0 320 ${rows.length * rowHeight}`, role: 'img', 'aria-label': name });
  rows.forEach(([label, value], i) => {
    const y = i * rowHeight;
    const width = Math.max(2, Math.round((value / max) * 150));
    chart.append(svg('text', { x: 0, y: y + 17, 'font-size': 12, fill: '#1b1f24' }, label));
    chart.append(svg('rect', { x: 130, y: y + 5, width, height: 16, rx: 3, fill: '#1662d6' }));
    chart.append(svg('text', { x: 136 + width, y: y + 17, 'font-size': 12, fill: '#1b1f24' }, String(value)));
  });
  container.append(chart);
}

/** A line of the last values (oldest left). */
function lineChart(container, values, name) {
  container.replaceChildren();
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? 300 / (values.length - 1) : 0;
  const points = values.map((value, i) => `${10 + i * step},${90 - Math.round((value / max) * 80)}`).join(' ');
  const chart = svg('svg', { viewBox: '0 0 320 100', role: 'img', 'aria-label': `${name}: ${values.at(-1) ?? 0} now` });
  chart.append(svg('line', { x1: 10, y1: 90, x2: 310, y2: 90, stroke: '#c4cad1' }));
  chart.append(svg('text', { x: 10, y: 12, 'font-size': 11, fill: '#5b6570' }, `up to ${max}`));
  if (values.length > 1) chart.append(svg('polyline', { points, fill: 'none', stroke: '#1662d6', 'stroke-width': 2 }));
  else chart.append(svg('circle', { cx: 10, cy: 90 - Math.round(((values[0] ?? 0) / max) * 80), r: 3, fill: '#1662d6' }));
  container.append(chart);
}

function setupLabel(bucket, previous) {
  if (bucket.leSeconds == null) return `over ${previous} s`;
  return previous == null ? `up to ${bucket.leSeconds} s` : `${previous}–${bucket.leSeconds} s`;
}

function sum(counts) {
  return Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
}

function render(stats, withSettings = true) {
  $('n-active').textContent = stats.activeCalls;
  $('n-connections').textContent = stats.hubConnections;
  $('n-calls').textContent = sum(stats.callsStarted);
  $('n-answered').textContent = stats.setupTime.count;
  $('n-codes').textContent = stats.codesIssued;
  $('n-scans').textContent = sum(stats.scans);
  $('since').textContent = ` (${time(stats.since)})`;
  $('refreshed').textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes by itself.`;
  activeHistory.push(stats.activeCalls);
  if (activeHistory.length > 40) activeHistory.shift();
  lineChart($('chart-active'), activeHistory, 'Active calls');
  barChart($('chart-scans'), Object.entries(stats.scans).map(([k, v]) => [SCAN_WORDS[k] ?? SCAN_WORDS.other, v]), 'Scans by result');
  barChart($('chart-ended'), Object.entries(stats.callsEnded).map(([k, v]) => [END_WORDS[k] ?? END_WORDS.other, v]), 'How calls ended');
  let previous = null;
  barChart($('chart-setup'), stats.setupTime.buckets.map((b) => {
    const entry = [setupLabel(b, previous), b.count];
    previous = b.leSeconds;
    return entry;
  }), 'Time until a call was answered');
  if (withSettings) showSettings(stats.settings);
}

// A refresh must not undo a click being saved: numbers fetched while a setting was saving (or before it was saved)
// leave the switches as they are; the save's own answer sets them.
let savesPending = 0;
let savesDone = 0;

function showSettings(settings) {
  $('set-maintenance').checked = settings.maintenanceMode;
  $('set-registration').checked = settings.registrationOpen;
  $('set-feedback').checked = settings.feedbackEnabled;
  $('set-analytics').checked = settings.analyticsEnabled;
  if (document.activeElement !== $('set-duration')) $('set-duration').value = settings.maxCallDurationMinutes ?? '';
  show($('maintenance-banner'), settings.maintenanceMode);
}

async function refresh() {
  try {
    const savedBefore = savesDone;
    const stats = await admin('/admin/stats');
    render(stats, savesPending === 0 && savesDone === savedBefore);
    showPageError('');
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || CLOSED.has(e.code))) return;
    showPageError(describeError(e, 'update the numbers'));
  }
}

// ---- settings ----
const SETTING_WORDS = {
  maintenanceMode: ['Maintenance is on: new calls are refused.', 'Maintenance is off: calls work again.'],
  registrationOpen: ['New people can create accounts.', 'Nobody can create a new account now.'],
  feedbackEnabled: ['Feedback is taken.', 'Feedback is turned off.'],
  analyticsEnabled: ['Hourly totals are counted.', 'Hourly totals are not counted now.'],
};

async function saveSetting(change, message) {
  $('settings-status').textContent = '';
  $('settings-error').textContent = '';
  savesPending++;
  let failed = false;
  try {
    const settings = await admin('/admin/settings', { method: 'PUT', body: change });
    showSettings(settings);
    $('settings-status').textContent = message(settings);
  } catch (e) {
    failure('settings-error', e, 'save the setting');
    failed = true;
  } finally {
    savesPending--;
    savesDone++;
  }
  if (failed) refresh(); // shows the switches as the server has them
}

function bindToggle(id, key) {
  $(id).addEventListener('change', () => {
    const on = $(id).checked;
    saveSetting({ [key]: on }, () => (on ? SETTING_WORDS[key][0] : SETTING_WORDS[key][1]).trim());
  });
}

async function saveDuration(event) {
  event.preventDefault();
  const text = $('set-duration').value.trim();
  const minutes = text === '' ? 0 : Number(text);
  if (!Number.isInteger(minutes) || minutes < 0 || minutes > 1440) {
    $('settings-error').textContent = 'Enter a whole number of minutes from 1 to 1440, or leave it empty for the server\'s limit.';
    return;
  }
  await saveSetting({ maxCallDurationMinutes: minutes }, (s) => s.maxCallDurationMinutes
    ? `New calls end after ${s.maxCallDurationMinutes} minutes at most.` : 'New calls use the server\'s own limit.');
}

// ---- analytics export ----
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function exportAnalytics(format) {
  $('analytics-status').textContent = '';
  $('analytics-error').textContent = '';
  try {
    if (format === 'csv') {
      download(await admin('/admin/analytics?format=csv', { accept: 'text/csv' }), 'qrcalling-analytics.csv');
    } else {
      const data = await admin('/admin/analytics');
      download(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }), 'qrcalling-analytics.json');
    }
    $('analytics-status').textContent = `Downloaded the analytics (${format.toUpperCase()}).`;
  } catch (e) {
    failure('analytics-error', e, 'download the analytics');
  }
}

// ---- lists ----
function emptyItem(text) { return el('li', { class: 'empty' }, text); }

async function loadFeedback() {
  $('feedback-error').textContent = '';
  try {
    const items = await admin('/admin/feedback');
    $('feedback').replaceChildren(...(items.length === 0 ? [emptyItem('No feedback yet.')] : items.map((f) => el('li', { testid: 'feedback-item' },
      el('span', { class: 'text' }, f.message),
      f.contact ? el('span', { class: 'when' }, `Answer to: ${f.contact}`) : null,
      el('span', { class: 'when' }, time(f.at)),
      el('button', { class: 'secondary', testid: 'delete-feedback', onclick: () => remove(`/admin/feedback/${encodeURIComponent(f.id)}`, 'feedback-error', 'delete the feedback', loadFeedback) }, 'Delete')))));
  } catch (e) {
    failure('feedback-error', e, 'load the feedback');
  }
}

async function loadWaitlist() {
  $('waitlist-error').textContent = '';
  try {
    const items = await admin('/admin/waitlist');
    $('waitlist').replaceChildren(...(items.length === 0 ? [emptyItem('Nobody is waiting.')] : items.map((w) => el('li', { testid: 'waitlist-item' },
      el('span', { class: 'text' }, w.email),
      el('span', { class: 'when' }, `since ${time(w.at)}`),
      el('button', { class: 'secondary', testid: 'delete-waitlist', onclick: () => remove(`/admin/waitlist/${encodeURIComponent(w.id)}`, 'waitlist-error', 'delete the address', loadWaitlist) }, 'Delete')))));
  } catch (e) {
    failure('waitlist-error', e, 'load the waitlist');
  }
}

async function remove(path, errorId, what, reload) {
  $(errorId).textContent = '';
  try {
    await admin(path, { method: 'DELETE' });
  } catch (e) {
    failure(errorId, e, what);
  }
  await reload();
}

const LEVEL_WORDS = { Warning: 'Warning', Error: 'Error', Critical: 'Serious error' };

async function loadOpsLog() {
  try {
    const entries = await admin('/admin/ops-log');
    $('ops-log').replaceChildren(...(entries.length === 0 ? [emptyItem('Nothing went wrong lately.')] : entries.slice(0, 50).map((e) => el('li', { testid: 'ops-item' },
      el('span', { class: `level-${e.level}` }, LEVEL_WORDS[e.level] ?? e.level),
      el('span', { class: 'text' }, e.message + (e.exception ? ` (${e.exception})` : '')),
      el('span', { class: 'when' }, time(e.at))))));
  } catch (e) {
    if (!(e instanceof ApiError && (e.status === 401 || CLOSED.has(e.code)))) showPageError(describeError(e, 'load the warnings and errors'));
  }
}

async function start() {
  catchStrayErrors(showPageError);
  $('page-error').addEventListener('click', () => showPageError(''));
  if (!login?.accessToken) {
    signedOut();
    return;
  }
  try {
    render(await admin('/admin/stats'));
  } catch (e) {
    if (!(e instanceof ApiError && (e.status === 401 || CLOSED.has(e.code)))) {
      showPageError(describeError(e, 'open the admin page'));
    }
    return;
  }
  show($('console'), true);
  bindToggle('set-maintenance', 'maintenanceMode');
  bindToggle('set-registration', 'registrationOpen');
  bindToggle('set-feedback', 'feedbackEnabled');
  bindToggle('set-analytics', 'analyticsEnabled');
  $('save-duration').addEventListener('click', saveDuration);
  $('settings-form').addEventListener('submit', saveDuration);
  $('export-csv').addEventListener('click', () => exportAnalytics('csv'));
  $('export-json').addEventListener('click', () => exportAnalytics('json'));
  await Promise.all([loadFeedback(), loadWaitlist(), loadOpsLog()]);
  timer = setInterval(() => { refresh(); loadOpsLog(); }, REFRESH_MS);
  document.body.dataset.ready = 'true';
}

start();
