// Files in the room page: the attach button, and one card per file and person in the message list (an offer with
// Save / Decline, per-person progress, "Ana saved photo.jpg." on the sender's side). The protocol is the client
// module's RoomFiles (client/room-files.js: Files v1 once per pair, relayed through the room); the cards are the call's
// (call-files.js FileCards), one set per other participant.
import { $ } from './api.js';
import { FileError, RoomFiles, formatSize } from './qrcalling-client.js';
import { FileCards } from './call-files.js';

/** The file part of the room view. `notice(text)` adds a notice to the message list. */
export class RoomFilesView {
  constructor(room, { notice }) {
    this.room = room;
    this.notice = notice;
    this.files = new RoomFiles(room);
    /** Reasons of refused file frames, newest last (for tests and debugging; nothing of the frames themselves). */
    this.refused = [];
    this.cards = new Map();
    this.files.addEventListener('files', (e) => {
      const { peerId, files } = e.detail;
      const name = room.nameOf(peerId);
      this.cards.set(peerId, new FileCards({ files, list: () => $('room-messages'), other: () => room.nameOf(peerId), to: ` to ${name}` }));
    });
    this.files.addEventListener('refused', (e) => this.refused.push(e.detail.reason));
    const input = $('file-input');
    input.onchange = () => {
      const file = input.files?.[0];
      input.value = '';
      if (file) this.send(file);
    };
  }

  setEnabled(enabled) {
    $('file-input').disabled = !enabled;
    $('room-attach').classList.toggle('disabled', !enabled);
    $('room-attach').setAttribute('aria-disabled', String(!enabled));
  }

  async send(file) {
    const error = $('room-send-error');
    error.textContent = '';
    const max = this.files.maxBytes;
    if (file.size > max) {
      error.textContent = `${file.name} is ${formatSize(file.size)}: files can be at most ${formatSize(max)}.`;
      return;
    }
    try {
      const { transfers, skipped, failed } = await this.files.offer(file);
      for (const { peerId, transfer } of transfers) this.cards.get(peerId)?.showOffered(transfer);
      for (const id of skipped) this.notice(`${file.name} was not offered to ${this.room.nameOf(id)}: encryption with ${this.room.nameOf(id)} is still being set up. Send it again in a moment.`);
      for (const id of failed) this.notice(`${file.name} could not be offered to ${this.room.nameOf(id)}. Check your connection and send it again.`);
    } catch (e) {
      error.textContent = e?.code === 'alone'
        ? 'Nobody else is in the room yet: invite people with the QR or the link.'
        : e?.code === 'no_keys'
          ? 'Not sent: encryption is still being set up with the others. Try again in a moment.'
          : e instanceof FileError && e.reason === 'too-large'
            ? `${file.name} is too big: files can be at most ${formatSize(max)}.`
            : e instanceof FileError
              ? `Could not read ${file.name} (it changed while it was read). Try again.`
              : `Could not send ${file.name}. Check your connection and try again.`;
    }
  }
}
