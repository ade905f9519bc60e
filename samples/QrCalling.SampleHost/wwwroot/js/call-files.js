// Files in the call chat (both pages): an attach button, a card per file in the chat log (offer with Save / Decline,
// progress, the end in words) and the sender's "saved" notification. The protocol is the module's FileTransfers
// (`call.files`, docs/e2e.md "Files"); this file only touches the page. The cards (FileCards) also serve rooms
// (room-files.js), one set per other participant.
import { $, el } from './api.js';
import { FileError, formatSize } from './qrcalling-client.js';

/** Who is on the other side, in a sentence: `other(true)` starts one ("The other person", "Ana"), `other(false)` is
 * inside one ("the other person", "Ana"). */
const THE_OTHER_PERSON = (capital) => (capital ? 'The other person' : 'the other person');

function failureText(t, reason, maxBytes, other = THE_OTHER_PERSON, to = '') {
  const name = t.name;
  const mine = t.direction === 'send';
  switch (reason) {
    case 'declined': return mine ? `${other(true)} declined ${name}.` : `You declined ${name}.`;
    case 'too-large': return mine
      ? `${other(true)}'s device refused ${name}: it is too big.`
      : `${other(true)} tried to send you ${name} (${formatSize(t.size)}), which is more than the ${formatSize(maxBytes)} limit.`;
    case 'cancelled': return `${other(true)} cancelled ${name}.`;
    case 'cancelled-here': return `You cancelled ${name}${to}.`;
    case 'corrupt': return mine
      ? `${name} arrived damaged on ${other(false)}'s side and was thrown away. Try sending it again.`
      : `${name} arrived damaged and was thrown away (nothing was saved). Ask for it again.`;
    default: return mine
      ? `${name} could not be sent${to}: the connection was lost.`
      : `${name} could not be received: the connection was lost.`;
  }
}

/**
 * The cards of one conversation's file transfers (a FileTransfers) in a chat list: an offer with Save / Decline,
 * progress, the end in words and the sender's "saved" notification. A call has one; a room one per other participant.
 */
export class FileCards {
  /**
   * @param {object} o
   * @param {import('./client/files.js').FileTransfers} o.files
   * @param {() => HTMLElement} o.list the chat list the cards go in
   * @param {(capital: boolean) => string} [o.other] the other side, in words (default "the other person")
   * @param {string} [o.to] after the file name in the sender's words (" to Ana" in a room; nothing in a call)
   */
  constructor({ files, list, other = THE_OTHER_PERSON, to = '' }) {
    this.files = files;
    this.list = list;
    this.other = other;
    this.to = to;
    this.cards = new Map();
    this.offline = false;
    const on = (type, handler) => files.addEventListener(type, (e) => handler(e.detail));
    on('offer', ({ transfer }) => this.showOffer(transfer));
    on('progress', ({ transfer, stalled }) => this.showProgress(transfer, stalled));
    on('complete', ({ transfer, blob }) => this.showComplete(transfer, blob));
    on('delivered', ({ transfer }) => this.update(transfer, `Sent ${transfer.name}${this.to} (${formatSize(transfer.size)}).`, []));
    on('saved', ({ transfer }) => this.showSaved(transfer));
    on('failed', ({ transfer, reason }) => this.update(transfer, failureText(transfer, reason, files.maxBytes, this.other, this.to), []));
  }

  /** While this side's connection is lost, every transfer under way says so on its card. */
  setOffline(offline) {
    this.offline = offline;
    for (const t of this.files.transfers.values()) this.showProgress(t, false);
  }

  /** The sender's card of a transfer just offered. */
  showOffered(t) {
    this.update(t, `Offering ${t.name}${this.to} (${formatSize(t.size)}). Waiting for ${this.other(false)} to accept…`, ['cancel']);
  }

  card(t) {
    let card = this.cards.get(t.id);
    if (!card) {
      card = el('li', { class: `file ${t.direction === 'send' ? 'me' : 'them'}`, testid: 'file-card' });
      card.dataset.direction = t.direction;
      this.cards.set(t.id, card);
      this.list().append(card);
    }
    return card;
  }

  /** Text, optional progress, and buttons (accept, decline, cancel) of a file's card. */
  update(t, text, actions, progress) {
    const card = this.card(t);
    card.dataset.state = t.state;
    if (t.via) card.dataset.via = t.via;
    const parts = [el('p', { testid: 'file-text' }, text)];
    if (progress !== undefined) {
      const bar = el('progress', { max: '100', value: String(progress), 'aria-label': `${t.name}: ${progress}%` });
      parts.push(bar);
    }
    const buttons = actions.map((action) => {
      const [label, cls, run] = {
        accept: ['Save', '', () => this.files.accept(t.id)],
        decline: ['Decline', 'secondary', () => this.files.decline(t.id)],
        cancel: ['Cancel', 'secondary', () => this.files.cancel(t.id)],
      }[action];
      const button = el('button', { type: 'button', class: cls, testid: `file-${action}` }, label);
      button.onclick = () => run().catch(() => this.update(t, failureText(t, 'connection', this.files.maxBytes, this.other, this.to), []));
      return button;
    });
    if (buttons.length) parts.push(el('div', { class: 'row' }, ...buttons));
    card.replaceChildren(...parts);
    card.scrollIntoView?.({ block: 'nearest' });
  }

  showOffer(t) {
    this.update(t, `${this.other(true)} wants to send you ${t.name} (${formatSize(t.size)}).`, ['accept', 'decline']);
  }

  showProgress(t, stalled) {
    if (!['sending', 'receiving'].includes(t.state)) return;
    const done = t.direction === 'send' ? t.acked : t.next;
    const percent = Math.floor((100 * done) / t.chunks);
    const what = t.direction === 'send' ? `Sending ${t.name}${this.to}` : `Receiving ${t.name}`;
    const text = stalled || this.offline ? `${what}: connection lost, trying again…` : `${what}…`;
    this.update(t, text, ['cancel'], percent);
  }

  showComplete(t, blob) {
    const url = URL.createObjectURL(blob);
    const save = () => {
      const a = el('a', { href: url, download: t.name });
      document.body.append(a);
      a.click();
      a.remove();
      this.files.markSaved(t.id).catch(() => {});
    };
    this.update(t, `Received ${t.name} (${formatSize(t.size)}). Saved to your downloads.`, []);
    const again = el('button', { type: 'button', class: 'secondary', testid: 'file-save-again' }, 'Save again');
    again.onclick = save;
    this.card(t).append(el('div', { class: 'row' }, again));
    save();
  }

  showSaved(t) {
    const card = this.card(t);
    card.dataset.saved = 'true';
    let note = card.querySelector('[data-testid="file-saved"]');
    if (!note) {
      note = el('p', { class: 'hint', testid: 'file-saved', role: 'status' });
      card.append(note);
    }
    note.textContent = `${this.other(true)} saved ${t.name}.`;
  }
}

/** The file part of a call view. */
export class CallFiles {
  constructor(call) {
    this.call = call;
    this.cards = new FileCards({ files: call.files, list: () => $('chat-log') });
    // This side's connection: while it is lost, every transfer under way says so (it resumes once it is back).
    call.addEventListener('connection', (e) => this.cards.setOffline(e.detail.state !== 'online'));
    const input = $('file-input');
    input.onchange = () => {
      const file = input.files?.[0];
      input.value = '';
      if (file) this.send(file);
    };
  }

  setEnabled(enabled) {
    $('file-input').disabled = !enabled;
    $('attach').classList.toggle('disabled', !enabled);
    $('attach').setAttribute('aria-disabled', String(!enabled));
  }

  async send(file) {
    $('chat-error').textContent = '';
    const files = this.call.files;
    if (file.size > files.maxBytes) {
      $('chat-error').textContent = `${file.name} is ${formatSize(file.size)}: files can be at most ${formatSize(files.maxBytes)}.`;
      return;
    }
    if (!this.call.chatReady) return;
    try {
      const transfer = await files.offer(file);
      this.cards.showOffered(transfer);
    } catch (e) {
      $('chat-error').textContent = e instanceof FileError && e.reason === 'too-large'
        ? `${file.name} is too big: files can be at most ${formatSize(files.maxBytes)}.`
        : e instanceof FileError
          ? `Could not read ${file.name} (it changed while it was read). Try again.`
          : `Could not send ${file.name}. Check your connection and try again.`;
    }
  }
}
