// The owner page's service worker (scope "/"): it rings the owner when no page is open. A push from the server is
// encrypted to this browser and holds only {type: "incoming-call", callId, label}: nothing about the caller. It caches
// nothing and handles no fetches, so the pages always come from the server.
'use strict';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch { message = {}; }
  const callId = typeof message.callId === 'string' ? message.callId : '';
  const label = typeof message.label === 'string' && message.label.trim() ? message.label.trim() : '';
  // Every push must show a notification (userVisibleOnly); one of another kind says only that something happened.
  const title = message.type === 'incoming-call' ? 'Incoming call' : 'QrCalling';
  const body = message.type === 'incoming-call'
    ? (label ? `Someone scanned “${label}” and is calling you. Tap to answer.` : 'Someone is calling you. Tap to answer.')
    : 'Open QrCalling to see what is new.';
  event.waitUntil(self.registration.showNotification(title, {
    body,
    tag: callId ? `call-${callId}` : 'qrcalling',
    renotify: true,
    requireInteraction: true,
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: { callId, url: callId ? `/?call=${encodeURIComponent(callId)}` : '/' },
  }));
});

// A click opens the owner page at the ringing call: an open owner tab is focused (it already shows the ring card),
// otherwise a new one opens; a connecting owner page is rung again for every call still ringing.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || '/', self.location.origin);
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const owner = windows.find((w) => new URL(w.url).pathname === '/');
    if (owner) {
      owner.postMessage({ type: 'open-call', callId: event.notification.data?.callId || '' });
      return owner.focus();
    }
    return self.clients.openWindow(target.href);
  })());
});
