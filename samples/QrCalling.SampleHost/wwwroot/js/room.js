// The room page (/room): start a room, show its QR and link, join from the link's fragment, chat with several people
// end-to-end encrypted (one pairwise session per two participants, docs/e2e.md "Rooms"), check codes per pair, send
// files (room-files.js), leave.
// The logic is the client module's (rooms.js, room-e2e.js); this file renders. The room's participant token and what
// this tab showed stay in sessionStorage (this tab only), so a reload rejoins as the same participant.
import { QrCallingApi, createRoom, hubErrorCode, isSessionQr, joinRoom, parseRoomLink, roomQr, sessionQrRoomPayload } from './qrcalling-client.js';
import { RoomFilesView } from './room-files.js';
import { checkSessionQr } from './session-check.js';

const $ = (id) => document.getElementById(id);
const api = new QrCallingApi();
const STORE_PREFIX = 'qrcalling.room.';
const TRANSCRIPT_LIMIT = 300;

let room = null;
let files = null;
let link = null;
let saved = null;
const typingTimers = new Map();

// ---- small helpers ----
function show(id) {
  for (const section of ['room-start', 'room-join', 'room-view', 'room-ended']) $(section).hidden = section !== id;
  document.body.dataset.room = id.replace('room-', '');
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else if (name === 'testid') node.dataset.testid = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function setError(text) { $('room-error').textContent = text ?? ''; }

/** The signed link's "Checked: …" line (hidden for a plain link). */
function setChecked(text) {
  $('room-checked').textContent = text ?? '';
  $('room-checked').hidden = !text;
}

const NOT_A_ROOM_LINK = 'That is not a room link. A room link looks like https://…/room#PQR:1:… — check that it was copied whole.';

/**
 * A room link or payload, plain or signed (PQS:1:ROOM:…, checked here first with this site's public keys):
 * `{parsed, joinWith, invite, checked}` (parsed: the plain room's parts, whose id keys what this tab keeps; joinWith:
 * what POST /rooms/join gets, the signed payload when signed, so the server checks it again; invite: the link to show;
 * checked: the "Checked: …" line or null), `{refused}` (the words) for a signed one that does not verify, `{redirected}`
 * for a meet-now code's QR (the caller page takes it), or null for text that is no room link.
 */
async function resolveRoomLink(text) {
  if (isSessionQr(text)) {
    const checked = await checkSessionQr(text);
    if (!checked.ok) return { refused: checked.text };
    const qr = checked.result.qr;
    if (qr.kind === 'MEET') {
      location.replace(`/c#${qr.payload}`);
      return { redirected: true };
    }
    const plain = parseRoomLink(sessionQrRoomPayload(qr));
    if (!plain) return { refused: 'This QR code was issued by this site, but it is not a room link. Ask for the room link again.' };
    return { parsed: plain, joinWith: qr.payload, invite: `${location.origin}/room#${qr.payload}`, checked: checked.text };
  }
  const parsed = parseRoomLink(text);
  return parsed ? { parsed, joinWith: parsed.payload, invite: `${location.origin}/room#${parsed.payload}`, checked: null } : null;
}

/** What went wrong joining or starting a room, in words. */
function describe(error, what) {
  const code = error?.code ?? hubErrorCode(error);
  switch (code) {
    case 'room_unavailable': return 'This room link is no longer valid: the room has ended, or the link is incomplete. Ask for a new link, or start a new room.';
    case 'room_full': return 'This room is full. Ask someone in it to leave, or start a new room.';
    case 'invalid_display_name': return 'That name cannot be used: up to 40 characters, letters, digits and punctuation only.';
    case 'rate_limited': return `Could not ${what}: too many attempts from here. Wait a minute and try again.`;
    case 'proof_required': return `Could not ${what}: the server is busy. Try again in a moment.`;
    case 'network': return `Could not ${what}: no connection to the server. Check your network and try again.`;
    default: return `Could not ${what}. Try again in a moment.`;
  }
}

// ---- what this tab keeps (sessionStorage) ----
const storeKey = (roomId) => STORE_PREFIX + roomId;

function loadSaved(roomId) {
  try { return JSON.parse(sessionStorage.getItem(storeKey(roomId)) ?? 'null'); } catch { return null; }
}

function persist() {
  if (!saved) return;
  if (room) saved.lastSeq = room.lastSeq;
  saved.transcript = saved.transcript.slice(-TRANSCRIPT_LIMIT);
  try { sessionStorage.setItem(storeKey(saved.roomId), JSON.stringify(saved)); } catch { /* full: the next reload shows less */ }
}

function forget(roomId) {
  try { sessionStorage.removeItem(storeKey(roomId)); } catch { /* nothing kept */ }
}

// ---- the message list ----
function renderEntry(entry) {
  const list = $('room-messages');
  let item;
  if (entry.type === 'notice') {
    item = el('li', { class: 'notice room-notice', testid: 'room-notice' }, entry.text);
  } else {
    item = el('li', { class: `room-message ${entry.me ? 'me' : 'them'}`, testid: 'room-message' },
      el('span', { class: 'room-sender', testid: 'room-sender' }, entry.me ? 'You' : entry.name),
      el('span', { class: 'room-text', testid: 'room-text' }, entry.text));
    if (entry.from) item.dataset.from = entry.from;
  }
  list.append(item);
  list.scrollTop = list.scrollHeight;
}

function add(entry) {
  renderEntry(entry);
  if (saved) {
    saved.transcript.push(entry);
    persist();
  }
}

const notice = (text) => add({ type: 'notice', text });

// ---- participants and check codes ----
function renderParticipants() {
  if (!room) return;
  const list = $('room-participants');
  list.replaceChildren();
  const people = room.list().filter((p) => p.present);
  for (const p of people) {
    if (p.me) {
      list.append(el('li', { class: 'room-person room-me', testid: 'room-me' }, `You${p.displayName ? ` (${p.displayName})` : ''}`));
      continue;
    }
    const code = room.e2e.checkCode(p.participantId);
    const item = el('li', { class: 'room-person', testid: 'room-pair' });
    item.dataset.peer = p.participantId;
    item.dataset.name = p.name;
    if (code) {
      item.append(`Compare with ${p.name}: `, el('strong', { class: 'room-code', testid: 'room-check-code' }, code));
      item.dataset.state = 'established';
    } else if (room.e2e.pairs.get(p.participantId)?.failed) {
      item.append(`${p.name}: encryption could not be set up. Someone may be interfering.`);
      item.dataset.state = 'failed';
    } else {
      item.append(`${p.name}: setting up encryption…`);
      item.dataset.state = 'exchanging';
    }
    list.append(item);
  }
  if (people.length <= 1) list.append(el('li', { class: 'hint room-alone', testid: 'room-alone' }, 'Nobody else is here yet. Invite people with the QR or the link.'));
}

function showTyping() {
  const names = [...typingTimers.keys()].map((id) => room.nameOf(id));
  $('room-typing').textContent = names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

// ---- invite: QR, copy, share ----
async function showInvite(roomLink) {
  $('room-link').textContent = roomLink;
  $('room-share').hidden = typeof navigator.share !== 'function';
  try {
    const image = await roomQr(api, room.roomId, room.participantToken, roomLink, 'svg');
    $('room-qr').src = URL.createObjectURL(image);
  } catch {
    $('room-qr').alt = 'The QR could not be made; send the link instead.';
  }
}

$('room-copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(link);
    $('room-copied').textContent = 'Link copied. Anyone with it can join this room.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents($('room-link'));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $('room-copied').textContent = 'Copying is not allowed here: the link is selected, copy it yourself.';
  }
});

$('room-share').addEventListener('click', () => {
  navigator.share({ title: 'Join my QrCalling room', url: link }).catch(() => {});
});

// ---- entering a room ----
const endedText = {
  expired: 'The room has ended: it reached its time limit.',
  idle: 'The room ended: nobody was active in it for a while.',
  empty: 'The room ended: everybody left.',
  unavailable: 'This room is no longer available: it has ended.',
  left: 'You left the room. The others were told.',
};

function onEnded(reason) {
  files?.setEnabled(false);
  if (saved) forget(saved.roomId);
  saved = null;
  setChecked(null);
  $('room-banner').hidden = true;
  document.body.dataset.hub = 'offline';
  $('room-ended-title').textContent = reason === 'left' ? 'You left the room' : 'The room has ended';
  $('room-ended-text').textContent = endedText[reason] ?? endedText.unavailable;
  show('room-ended');
}

async function enter(roomLink, displayName, participantToken) {
  const target = await resolveRoomLink(roomLink);
  if (target?.redirected) return;
  if (!target || target.refused) {
    setError(target?.refused ?? NOT_A_ROOM_LINK);
    if (!room) setChecked(null);
    show(room ? 'room-view' : 'room-start');
    return;
  }
  const parsed = target.parsed;
  setChecked(target.checked);
  link = target.invite;
  const previous = loadSaved(parsed.roomId);
  saved = previous ?? { roomId: parsed.roomId, transcript: [], lastSeq: 0, displayName: displayName || null };
  $('room-messages').replaceChildren();
  for (const entry of saved.transcript) renderEntry(entry);
  const on = {
    joined: () => renderParticipants(),
    participants: () => renderParticipants(),
    'participant-joined': (e) => notice(`${e.detail.name} joined.`),
    'participant-left': (e) => { notice(`${e.detail.name} left.`); typingTimers.delete(e.detail.participantId); showTyping(); },
    pair: (e) => {
      const d = e.detail;
      renderParticipants();
      if (d.status === 'established' && d.changed) {
        notice(`The check code with ${d.name} changed to ${d.checkCode}: a new key exchange (${d.name} reloaded the page, or someone interfered). Compare the new code with ${d.name}.`);
      } else if (d.status === 'reset') {
        notice(`${d.name} started a new key exchange: setting up encryption again…`);
      } else if (d.status === 'failed') {
        notice(`Encryption with ${d.name} could not be set up: someone may be interfering. It is tried again when either of you reloads.`);
      }
    },
    message: (e) => {
      const d = e.detail;
      if (d.missed > 0) notice(`(${d.missed} message${d.missed === 1 ? '' : 's'} from ${d.name} did not arrive)`);
      if (d.kind === 'text' && typeof d.body === 'string') add({ type: 'message', me: false, from: d.from, name: d.name, text: d.body, seq: d.seq });
      typingTimers.delete(d.from);
      showTyping();
    },
    undecryptable: (e) => {
      const d = e.detail;
      if (d.reason === 'reloaded') notice(`${d.count} earlier message${d.count === 1 ? ' was' : 's were'} encrypted for this page before it reloaded and cannot be shown again.`);
      else notice(`A message from ${d.name} could not be decrypted (it was altered, or encrypted with other keys).`);
    },
    typing: (e) => {
      const id = e.detail.participantId;
      clearTimeout(typingTimers.get(id));
      typingTimers.set(id, setTimeout(() => { typingTimers.delete(id); showTyping(); }, 4000));
      showTyping();
    },
    connection: (e) => {
      const online = e.detail.state === 'online';
      document.body.dataset.hub = online ? 'online' : 'reconnecting';
      $('room-banner').hidden = online;
      $('room-banner').textContent = 'Connection lost — retrying…';
      if (online) persist();
    },
    ended: (e) => onEnded(e.detail.reason),
  };
  try {
    room = await joinRoom({
      api, signalR: globalThis.signalR, link: target.joinWith,
      displayName: previous ? undefined : displayName,
      participantToken: previous?.participantToken,
      restored: previous ? { lastSeq: previous.lastSeq } : undefined,
      on,
    });
  } catch (e) {
    if (previous && (e?.code === 'room_unavailable' || e?.status === 401)) {
      onEnded('unavailable');
      return;
    }
    saved = null;
    setError(describe(e, 'join the room'));
    show(previous || !parsed ? 'room-start' : 'room-join');
    return;
  }
  saved.participantToken = room.participantToken;
  saved.participantId = room.participantId;
  persist();
  // Files (end-to-end encrypted, one transfer per person, through the server's relay): room-files.js.
  files = new RoomFilesView(room, { notice });
  files.setEnabled(true);
  window.qrcallingRoomDebug = room;
  window.qrcallingRoomFilesDebug = files;
  if (location.hash.slice(1).toUpperCase() !== target.joinWith) history.replaceState(null, '', `/room#${target.joinWith}`);
  setError('');
  show('room-view');
  renderParticipants();
  await showInvite(link);
}

// ---- sending ----
$('room-send-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('room-input');
  const text = input.value;
  if (!text.trim() || !room) return;
  $('room-send-error').textContent = '';
  try {
    const { skipped } = await room.sendText(text);
    input.value = '';
    add({ type: 'message', me: true, text });
    for (const id of skipped) notice(`Not delivered to ${room.nameOf(id)}: encryption with ${room.nameOf(id)} is still being set up. Send it again in a moment.`);
  } catch (e) {
    const code = e?.code ?? hubErrorCode(e);
    $('room-send-error').textContent = {
      alone: 'Nobody else is in the room yet: invite people with the QR or the link.',
      no_keys: 'Not sent: encryption is still being set up with the others. Try again in a moment.',
      too_large: 'Not sent: the message is too long.',
      rate_limited: 'Not sent: you are sending too fast. Wait a moment and try again.',
    }[code] ?? (room.hub.state !== 'Connected'
      ? 'Not sent: the connection is lost. It is retrying; send again once it is back.'
      : 'Not sent. Try again in a moment.');
  }
});

let lastTyping = 0;
$('room-input').addEventListener('input', () => {
  if (!room || Date.now() - lastTyping < 2000) return;
  lastTyping = Date.now();
  room.typing();
});

$('room-leave').addEventListener('click', async () => {
  if (!room) return;
  $('room-leave').disabled = true;
  await room.leave();
});

// ---- start, join ----
$('room-create-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  setError('');
  const button = $('room-create');
  button.disabled = true;
  const onProof = () => setError('The server is busy: proving this is not an automated request…');
  const signed = $('room-create-signed').checked;
  try {
    let created;
    let note = '';
    try {
      created = await createRoom(api, { signed, onProof });
    } catch (e) {
      if (!signed || e?.code !== 'signing_unavailable') throw e;
      // This host has no signing key: the room still starts, with an ordinary link, and the creator is told.
      created = await createRoom(api, { onProof });
      note = 'This site cannot sign room links (it has no signing key), so this room has an ordinary link without an expiry check.';
    }
    setError('');
    await enter(created.signedLink ?? created.link, $('room-create-name').value.trim());
    $('room-signed-note').textContent = note;
    $('room-signed-note').hidden = !note;
    $('room-invite').open = true;
  } catch (e) {
    setError(describe(e, 'start a room'));
  } finally {
    button.disabled = false;
  }
});

$('room-paste-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setError('');
  const value = $('room-paste').value.trim();
  if (isSessionQr(value)) {
    location.hash = value.slice(value.lastIndexOf('#') + 1).trim(); // hashchange checks it and opens the join step
    return;
  }
  const parsed = parseRoomLink(value);
  if (!parsed) {
    setError(NOT_A_ROOM_LINK);
    return;
  }
  location.hash = parsed.payload; // hashchange opens the join step
});

$('room-join-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  setError('');
  $('room-join-button').disabled = true;
  try {
    await enter(location.hash.slice(1), $('room-join-name').value.trim());
  } finally {
    $('room-join-button').disabled = false;
  }
});

async function route() {
  if (room && !room.ended) return;
  const fragment = location.hash.slice(1);
  if (!fragment) {
    setChecked(null);
    show('room-start');
    return;
  }
  const target = await resolveRoomLink(fragment);
  if (target?.redirected || (room && !room.ended)) return;
  if (!target || target.refused) {
    // A signed link that does not verify is refused here, before anything is sent to the server.
    setError(target?.refused ?? 'This room link is incomplete or damaged. Ask for the link again, or start a new room.');
    setChecked(null);
    show('room-start');
    return;
  }
  setChecked(target.checked);
  if (loadSaved(target.parsed.roomId)?.participantToken) {
    // This tab was in the room (a reload): rejoin as the same participant.
    enter(fragment);
    return;
  }
  show('room-join');
}

window.addEventListener('hashchange', route);
window.addEventListener('pagehide', () => persist());
route();
