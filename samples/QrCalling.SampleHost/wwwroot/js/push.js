// The owner page as an installable app that rings when it is closed: it registers the service worker (/sw.js) and offers
// "Ring me when this tab is closed", a Web Push subscription for this browser (POST/DELETE /api/v1/push/subscriptions).
// The server's push holds only the code's label and the call id, encrypted to this browser. Kept apart from owner.js:
// it reads the signed-in state from the page (the #signed-in section) and the token owner.js stores.
import { $, api, debugState, describeError, show } from './api.js';

const TOKEN_KEY = 'qrcalling.owner.token';
const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
const registration = 'serviceWorker' in navigator
  ? navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => null)
  : Promise.resolve(null);

function token() {
  try { return JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null')?.accessToken ?? null; } catch { return null; }
}

function say(text, problem = false) {
  $('push-status').textContent = text;
  $('push-status').classList.toggle('error', problem);
}

function base64UrlToBytes(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

async function currentSubscription() {
  const reg = await registration;
  return reg ? reg.pushManager.getSubscription() : null;
}

/** Shows the button and a sentence for where this browser stands. */
async function render() {
  const panel = $('push-panel');
  if (!supported) {
    show(panel, true);
    show($('push-toggle'), false);
    say('This browser cannot ring you while the page is closed: keep this tab open to be rung.');
    return;
  }
  show(panel, true);
  if (Notification.permission === 'denied') {
    show($('push-toggle'), false);
    say('Notifications are blocked for this site, so a closed tab cannot ring you. Allow notifications in the browser\'s site settings, then reload.', true);
    return;
  }
  const subscription = await currentSubscription();
  show($('push-toggle'), true);
  $('push-toggle').textContent = subscription ? 'Stop ringing when this tab is closed' : 'Ring me when this tab is closed';
  $('push-toggle').dataset.on = subscription ? 'true' : 'false';
  say(subscription
    ? 'This browser rings you for calls even when this page is closed.'
    : 'Right now you are rung only while this page is open.');
}

function explain(error) {
  switch (error?.code) {
    case 'endpoint_not_allowed': return 'This server cannot ring this browser when the page is closed (its push service is not allowed here).';
    case 'quota_exceeded': return 'Ringing is already on for too many browsers: turn it off on one of them first.';
    default: return describeError(error, 'turn ringing on');
  }
}

async function turnOn() {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    await render();
    if (permission !== 'denied') say('Ringing stays off: notifications were not allowed.', true);
    return;
  }
  const reg = await registration;
  if (!reg) { say('Could not turn ringing on: the page\'s service worker did not start. Reload and try again.', true); return; }
  let subscription = null;
  try {
    const { publicKey } = await api('/push/public-key');
    subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(publicKey) });
  } catch (e) {
    say(e?.code ? explain(e) : 'Could not turn ringing on: the browser\'s push service did not answer. Try again later.', true);
    return;
  }
  try {
    await api('/push/subscriptions', { method: 'POST', body: subscription.toJSON(), token: token() });
  } catch (e) {
    await subscription.unsubscribe().catch(() => {});
    await render();
    say(explain(e), true);
    return;
  }
  await render();
}

async function turnOff() {
  const subscription = await currentSubscription();
  if (!subscription) { await render(); return; }
  // Unsubscribing in the browser alone would do (the push service then answers 410 and the server forgets it); telling
  // the server is quicker and tidier.
  await api('/push/subscriptions', { method: 'DELETE', body: { endpoint: subscription.endpoint }, token: token() }).catch(() => {});
  await subscription.unsubscribe().catch(() => {});
  await render();
}

/** After sign-in: a browser that rings already tells the server again (its keys may have changed, or the server lost
 * it). After sign-out: this browser stops ringing for that account (the push service then answers 410). */
async function onSignedIn(signedIn) {
  if (signedIn) {
    const subscription = supported && Notification.permission === 'granted' ? await currentSubscription() : null;
    if (subscription && token()) {
      await api('/push/subscriptions', { method: 'POST', body: subscription.toJSON(), token: token() }).catch(() => {});
    }
    await render();
  } else {
    show($('push-panel'), false);
    const subscription = supported ? await currentSubscription() : null;
    await subscription?.unsubscribe().catch(() => {});
  }
}

$('push-toggle').addEventListener('click', async () => {
  $('push-toggle').disabled = true;
  try {
    if ($('push-toggle').dataset.on === 'true') await turnOff(); else await turnOn();
  } finally {
    $('push-toggle').disabled = false;
  }
});

// The owner page signs in and out by showing and hiding #signed-in.
const signedInSection = $('signed-in');
let wasSignedIn = null;
const follow = () => {
  const signedIn = !signedInSection.hidden;
  if (signedIn !== wasSignedIn) {
    const first = wasSignedIn === null;
    wasSignedIn = signedIn;
    if (signedIn || !first) onSignedIn(signedIn);
  }
};
new MutationObserver(follow).observe(signedInSection, { attributes: true, attributeFilter: ['hidden'] });
follow();

// A click on the notification while this tab is open: bring the ringing call into view.
navigator.serviceWorker?.addEventListener('message', (event) => {
  if (event.data?.type === 'open-call') document.getElementById('incoming')?.scrollIntoView({ block: 'start' });
});

// Opened from a notification (/?call=…): the ring card shows once the hub rings this page again; the address bar
// keeps no call id.
if (new URLSearchParams(location.search).has('call')) history.replaceState(null, '', '/');

debugState().push = { registration, render };
