// Leave-a-message, end to end encrypted, in WebCrypto. The owner's browser keeps an ECDH P-256 key pair in IndexedDB
// (the private key is not extractable) and registers the public key (PUT /message-key). The caller of an unanswered
// call seals one message to it: a fresh P-256 key, ECDH, HKDF-SHA256 (salt: the call id, info from the server) to an
// AES-256-GCM key, the call id as associated data. The server stores only the ciphertext and the public parts.
import { api, describeError, el } from './api.js';

const DB_NAME = 'qrcalling-messages';
const STORE = 'keys';
const enc = new TextEncoder();
const dec = new TextDecoder();

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
function fromB64url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** The sentence for the scan preview's `reachable` (absent: nothing to say). */
export function reachabilityText(reachable) {
  if (reachable === true) return 'The owner can be rung now.';
  if (reachable === false) return 'The owner is not reachable right now: you can leave a message.';
  return '';
}

// ---- the caller: one message after an unanswered call ----

async function seal(publicKey, callId, info, text) {
  const owner = await crypto.subtle.importKey('raw', fromB64url(publicKey), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const ephemeral = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
  const key = await deriveKey(ephemeral.privateKey, owner, callId, info, ['encrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: enc.encode(callId) }, key, enc.encode(text));
  return {
    ephemeralPublicKey: b64url(await crypto.subtle.exportKey('raw', ephemeral.publicKey)),
    iv: b64url(iv),
    ciphertext: b64url(ciphertext),
  };
}

async function deriveKey(privateKey, publicKey, callId, info, usages) {
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: publicKey }, privateKey, 256);
  const hkdf = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: enc.encode(callId), info: enc.encode(info) },
    hkdf, { name: 'AES-GCM', length: 256 }, false, usages);
}

/**
 * Shows the "Leave a message" box in `container` for the caller of a call that ended unanswered. Asks the server for the
 * owner's key first; says so in words when the owner takes no messages or the time is over.
 */
export async function offerMessage(container, { callId, callToken }) {
  container.replaceChildren();
  let key;
  try {
    key = await api(`/calls/${encodeURIComponent(callId)}/message-key`, { token: callToken });
  } catch (e) {
    const text = e.code === 'messages_unavailable' ? 'The owner does not take messages.'
      : e.code === 'message_window_closed' ? 'The time to leave a message for this call is over.'
      : '';
    if (text) container.append(el('p', { class: 'hint', testid: 'message-unavailable' }, text));
    return;
  }
  // The ciphertext cap counts bytes of the text plus the 16-byte tag; the box counts UTF-8 bytes.
  const maxBytes = key.maxCiphertextBytes - 16;
  const input = el('textarea', { id: 'message-text', testid: 'message-text', rows: '4', 'aria-describedby': 'message-limit' });
  const limit = el('p', { id: 'message-limit', class: 'hint', testid: 'message-limit' });
  const status = el('p', { testid: 'message-status', role: 'status' });
  const send = el('button', { testid: 'message-send' }, 'Send message');
  const updateLimit = () => {
    const left = maxBytes - enc.encode(input.value).length;
    limit.textContent = left >= 0 ? `${left} characters left. Only the owner can read it; it is kept at most a week.` : `${-left} characters too many.`;
    send.disabled = left < 0 || input.value.trim() === '';
  };
  input.addEventListener('input', updateLimit);
  const form = el('form', { class: 'message-box', testid: 'message-box', 'aria-labelledby': 'message-title' },
    el('h3', { id: 'message-title' }, 'Leave a message'),
    el('label', { for: 'message-text' }, 'Your message to the owner'),
    input, limit, el('div', { class: 'row' }, send), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    send.disabled = true;
    status.className = '';
    status.textContent = 'Sending…';
    try {
      const sealed = await seal(key.publicKey, callId, key.hkdfInfo, input.value);
      await api(`/calls/${encodeURIComponent(callId)}/message`, { method: 'POST', token: callToken, body: { ...sealed, keyId: key.keyId } });
      input.disabled = true;
      status.textContent = 'Message sent. Only the owner can read it.';
      form.dataset.sent = 'true';
    } catch (e) {
      status.className = 'error';
      status.textContent = e.code === 'message_exists' ? 'You already left a message for this call.'
        : e.code === 'inbox_full' ? 'The owner cannot take more messages right now.'
        : e.code === 'message_window_closed' ? 'The time to leave a message for this call is over.'
        : describeError(e, 'send the message');
      send.disabled = e.code === 'message_exists' || e.code === 'message_window_closed';
    }
  });
  updateLimit();
  container.append(form);
  input.focus();
}

// ---- the owner: this browser's key, and the messages list ----

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function idb(mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const request = action(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

/** The account's id from its token (the key pair is kept per account in this browser). */
function accountOf(token) {
  try {
    const claims = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return String(claims.sub ?? 'owner');
  } catch {
    return 'owner';
  }
}

/**
 * This browser's key pair for the account (made once; the private key cannot be exported) and its id; registers the
 * public key, so this browser is where new messages can be read.
 */
export async function ensureMessageKey(token) {
  const name = `owner:${accountOf(token)}`;
  let pair = await idb('readonly', (s) => s.get(name));
  if (!pair) {
    pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    await idb('readwrite', (s) => s.put(pair, name));
  }
  const publicKey = b64url(await crypto.subtle.exportKey('raw', pair.publicKey));
  // Registering is idempotent; doing it on every load makes this browser the one new messages are sealed for.
  const registered = await api('/message-key', { method: 'PUT', token, body: { publicKey } });
  return { privateKey: pair.privateKey, keyId: registered.keyId };
}

async function open(message, key) {
  const ephemeral = await crypto.subtle.importKey('raw', fromB64url(message.ephemeralPublicKey), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const aes = await deriveKey(key.privateKey, ephemeral, message.callId, 'qrcalling-message-v1', ['decrypt']);
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromB64url(message.iv), additionalData: enc.encode(message.callId) },
    aes, fromB64url(message.ciphertext));
  return dec.decode(plain);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Lists the owner's messages in `list`, decrypted here; each can be deleted once read. */
export async function loadMessages(list, { token, onError = () => {} }) {
  let key;
  let messages;
  try {
    key = await ensureMessageKey(token);
    messages = await api('/messages', { token });
  } catch (e) {
    onError(describeError(e, 'load your messages'));
    return;
  }
  onError('');
  const items = await Promise.all(messages.map(async (message) => {
    let text;
    let unreadable = false;
    try {
      text = message.keyId === key.keyId ? await open(message, key) : null;
    } catch {
      text = null;
    }
    if (text === null) {
      unreadable = true;
      text = 'This message was sealed for another browser or device of yours; it can be read only there.';
    }
    const remove = el('button', { type: 'button', class: 'secondary', testid: 'message-delete',
      'aria-label': `Delete the message from a caller on ${message.label || 'your code'}` }, 'Delete');
    const item = el('li', { testid: 'message' },
      el('p', { class: 'meta' }, `From a caller on ${message.label || 'your code'} · `,
        el('time', { datetime: message.receivedAt }, timeFormat.format(new Date(message.receivedAt)))),
      el('p', { class: unreadable ? 'hint' : 'message-text', testid: 'message-body' }, text),
      el('div', { class: 'row' }, remove));
    remove.addEventListener('click', async () => {
      remove.disabled = true;
      try {
        await api(`/messages/${encodeURIComponent(message.id)}`, { method: 'DELETE', token });
        item.remove();
        if (!list.children.length) list.append(emptyItem());
      } catch (e) {
        remove.disabled = false;
        onError(describeError(e, 'delete the message'));
      }
    });
    return item;
  }));
  list.replaceChildren(...(items.length ? items : [emptyItem()]));
}

function emptyItem() {
  return el('li', { class: 'hint empty', testid: 'messages-empty' }, 'No messages.');
}
