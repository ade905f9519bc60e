// The account page: the second step of a sign-in with two-step sign-in, profile, password, two-step sign-in (TOTP) set-up
// and removal, sign-out everywhere, the security log and account deletion. Shares the owner page's saved sign-in.
import { $, api, ApiError, catchStrayErrors, describeError, el, show } from './api.js';
import { forgetCode } from './code-vault.js';

const TOKEN_KEY = 'qrcalling.owner.token';
const MFA_KEY = 'qrcalling.owner.mfa';
let login = JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null');
let profile = null;

const AUDIT_WORDS = {
  login_failed: 'Wrong password entered',
  mfa_failed: 'Wrong sign-in code entered',
  recovery_code_used: 'A recovery code was used',
  refresh_reused: 'An old sign-in was reused; it was closed',
  password_changed: 'Password changed',
  signed_out_everywhere: 'Signed out everywhere',
  mfa_enabled: 'Two-step sign-in turned on',
  mfa_disabled: 'Two-step sign-in turned off',
};

function save(next) {
  login = next;
  localStorage.setItem(TOKEN_KEY, JSON.stringify(next));
}

function forget(message) {
  login = null;
  localStorage.removeItem(TOKEN_KEY);
  show($('account'), false);
  show($('signed-out'), true);
  if (message) $('signed-out-text').textContent = message;
}

/** Calls the API with the saved sign-in; a 401 means the session has ended everywhere on this page. */
async function authed(path, options = {}) {
  try {
    return await api(path, { ...options, token: login?.accessToken });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) forget('Your session has ended. Please sign in again.');
    throw e;
  }
}

function failure(id, e, what) {
  if (e instanceof ApiError && e.status === 401) return;
  const words = {
    wrong_password: 'That password is not right.',
    mfa_invalid: 'That code is not right (or was already used). Enter the code your app shows now.',
    mfa_required: 'Enter the code from your authenticator app.',
    mfa_locked: 'Too many wrong codes. Wait ten minutes and try again.',
    invalid_request: null,
  };
  $(id).textContent = words[e?.code] ?? describeError(e, what);
}

function clearMessages(...ids) { for (const id of ids) $(id).textContent = ''; }

// ---- the second step of a sign-in ----
function showMfaStep() {
  show($('mfa-step'), true);
  $('mfa-code').focus();
}

async function finishMfa(event) {
  event.preventDefault();
  clearMessages('mfa-error');
  const pending = JSON.parse(sessionStorage.getItem(MFA_KEY) || 'null');
  if (!pending) { location.assign('/'); return; }
  $('mfa-submit').disabled = true;
  try {
    const result = await api('/account/login/mfa', { method: 'POST', body: { mfaTicket: pending.ticket, code: $('mfa-code').value.trim() } });
    sessionStorage.removeItem(MFA_KEY);
    save(result);
    location.assign('/');
  } catch (e) {
    if (e.code === 'mfa_ticket_expired') {
      sessionStorage.removeItem(MFA_KEY);
      $('mfa-error').textContent = 'That took too long. Go back and sign in again.';
    } else {
      $('mfa-error').textContent = e.code === 'mfa_invalid' ? 'That code is not right (or was already used). Enter the code your app shows now.'
        : e.code === 'mfa_locked' ? 'Too many wrong codes. Wait ten minutes and try again.'
        : describeError(e, 'sign in');
    }
  } finally {
    $('mfa-submit').disabled = false;
  }
}

// ---- the account ----
async function load() {
  if (!login) { forget(); return; }
  // A sign-in about to end is renewed with its one-time refresh token (which is replaced by a new one).
  if (login.refreshToken && new Date(login.expiresAt) < new Date(Date.now() + 60000)) {
    try {
      save(await api('/account/refresh', { method: 'POST', body: { refreshToken: login.refreshToken } }));
    } catch {
      forget('Your session has ended. Please sign in again.');
      return;
    }
  }
  try {
    profile = await authed('/account');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) showPageError(describeError(e, 'load your account'));
    return;
  }
  show($('account'), true);
  renderProfile();
  await loadAudit();
}

function renderProfile() {
  $('profile-username').textContent = profile.username;
  $('password-username').value = profile.username;
  $('profile-since').textContent = profile.createdAt ? ` · since ${new Date(profile.createdAt).toLocaleDateString()}` : '';
  $('display-name').value = profile.displayName ?? '';
  $('mfa-status').textContent = profile.mfaEnabled
    ? `On. Signing in asks for a code from your app. Recovery codes left: ${profile.recoveryCodesLeft}.`
    : 'Off. Signing in needs only your password.';
  show($('mfa-off'), !profile.mfaEnabled && $('mfa-setup').hidden);
  show($('mfa-disable-form'), profile.mfaEnabled && $('mfa-recovery').hidden);
  show($('delete-code-row'), profile.mfaEnabled);
  $('delete-code').required = profile.mfaEnabled;
}

async function saveProfile(event) {
  event.preventDefault();
  clearMessages('profile-status', 'profile-error');
  try {
    profile = await authed('/account', { method: 'PATCH', body: { displayName: $('display-name').value } });
    renderProfile();
    $('profile-status').textContent = 'Saved.';
  } catch (e) {
    failure('profile-error', e, 'save your name');
    if (e.code === 'invalid_request') $('profile-error').textContent = 'Use up to 64 characters.';
  }
}

async function changePassword(event) {
  event.preventDefault();
  clearMessages('password-status', 'password-error');
  try {
    const result = await authed('/account/password', { method: 'POST',
      body: { currentPassword: $('current-password').value, newPassword: $('new-password').value } });
    save(result);
    $('password-form').reset();
    $('password-username').value = profile.username;
    $('password-status').textContent = 'Password changed. Your other devices are signed out.';
    await loadAudit();
  } catch (e) {
    failure('password-error', e, 'change the password');
    if (e.code === 'invalid_request') $('password-error').textContent = 'The new password needs 8 to 128 characters.';
  }
}

async function startMfa() {
  clearMessages('mfa-settings-error');
  try {
    const enrolment = await authed('/account/mfa/totp', { method: 'POST' });
    $('mfa-qr').src = enrolment.qrCode;
    $('mfa-secret').textContent = enrolment.secret;
    $('recovery-codes').replaceChildren(...enrolment.recoveryCodes.map((code) => el('li', {}, code)));
    show($('mfa-off'), false);
    show($('mfa-setup'), true);
    $('mfa-confirm-code').focus();
  } catch (e) {
    failure('mfa-settings-error', e, 'start two-step sign-in');
  }
}

async function confirmMfa(event) {
  event.preventDefault();
  clearMessages('mfa-settings-error');
  try {
    await authed('/account/mfa/totp/confirm', { method: 'POST', body: { code: $('mfa-confirm-code').value.trim() } });
    $('mfa-confirm-form').reset();
    show($('mfa-setup'), false);
    show($('mfa-recovery'), true);
    profile = await authed('/account');
    renderProfile();
    await loadAudit();
  } catch (e) {
    failure('mfa-settings-error', e, 'turn on two-step sign-in');
    if (e.code === 'mfa_not_enrolling') $('mfa-settings-error').textContent = 'Start the set-up again.';
  }
}

function cancelMfaSetup() {
  show($('mfa-setup'), false);
  $('recovery-codes').replaceChildren();
  renderProfile();
}

function recoverySaved() {
  show($('mfa-recovery'), false);
  $('recovery-codes').replaceChildren(); // shown once only
  renderProfile();
}

async function disableMfa(event) {
  event.preventDefault();
  clearMessages('mfa-settings-error');
  try {
    await authed('/account/mfa/totp', { method: 'DELETE',
      body: { password: $('mfa-disable-password').value, totp: $('mfa-disable-code').value.trim() } });
    $('mfa-disable-form').reset();
    profile = await authed('/account');
    renderProfile();
    await loadAudit();
  } catch (e) {
    failure('mfa-settings-error', e, 'turn off two-step sign-in');
  }
}

async function signOutEverywhere() {
  clearMessages('sessions-error');
  try {
    await authed('/account/sign-out-everywhere', { method: 'POST' });
    forget('You are signed out on every device, this one too.');
  } catch (e) {
    failure('sessions-error', e, 'sign out everywhere');
  }
}

async function loadAudit() {
  clearMessages('audit-error');
  try {
    const { entries } = await authed('/account/audit');
    $('audit').replaceChildren(...(entries.length === 0
      ? [el('li', { class: 'empty' }, 'Nothing yet.')]
      : entries.map((entry) => el('li', { class: entry.kind.endsWith('_failed') || entry.kind === 'refresh_reused' ? 'unanswered' : '' },
        `${new Date(entry.at).toLocaleString()} · ${AUDIT_WORDS[entry.kind] ?? entry.kind}`
          + (entry.client === 'unknown' ? '' : ` · place ${entry.client.slice(0, 4)}`)))));
  } catch (e) {
    failure('audit-error', e, 'load the security log');
  }
}

async function deleteAccount(event) {
  event.preventDefault();
  clearMessages('delete-error');
  $('delete-confirm').disabled = true;
  try {
    // The codes this browser keeps (encrypted) for re-showing their QR are forgotten too, once the server has erased them.
    const codes = await authed('/codes');
    await authed('/account', { method: 'DELETE', body: { password: $('delete-password').value, totp: $('delete-code').value.trim() || null } });
    await Promise.all((Array.isArray(codes) ? codes : codes?.items ?? []).map((code) => forgetCode(code.id).catch(() => {})));
    login = null;
    localStorage.removeItem(TOKEN_KEY);
    show($('account'), false);
    show($('deleted'), true);
  } catch (e) {
    failure('delete-error', e, 'delete the account');
  } finally {
    $('delete-confirm').disabled = false;
  }
}

function showPageError(message) {
  $('page-error').textContent = message;
  $('page-error').hidden = !message;
}

// ---- start ----
catchStrayErrors(showPageError);
$('page-error').addEventListener('click', () => showPageError(''));
$('mfa-form').addEventListener('submit', finishMfa);
$('profile-form').addEventListener('submit', saveProfile);
$('password-form').addEventListener('submit', changePassword);
$('mfa-enrol').addEventListener('click', startMfa);
$('mfa-confirm-form').addEventListener('submit', confirmMfa);
$('mfa-setup-cancel').addEventListener('click', cancelMfaSetup);
$('recovery-done').addEventListener('click', recoverySaved);
$('mfa-disable-form').addEventListener('submit', disableMfa);
$('sign-out-everywhere').addEventListener('click', () => { show($('sign-out-confirm'), true); $('sign-out-everywhere-yes').focus(); });
$('sign-out-everywhere-no').addEventListener('click', () => show($('sign-out-confirm'), false));
$('sign-out-everywhere-yes').addEventListener('click', signOutEverywhere);
$('audit-refresh').addEventListener('click', loadAudit);
$('delete-start').addEventListener('click', () => { show($('delete-form'), true); show($('delete-start'), false); $('delete-password').focus(); });
$('delete-cancel').addEventListener('click', () => { $('delete-form').reset(); show($('delete-form'), false); show($('delete-start'), true); });
$('delete-form').addEventListener('submit', deleteAccount);

if (location.hash === '#mfa' && sessionStorage.getItem(MFA_KEY)) {
  showMfaStep();
} else {
  load();
}
