// The pages' words for signed session QR (caller page, room page, owner page): the offline check of client/session-qr.js
// with this site's keys, said as a person reads it. The server checks the QR again when it is used.
import { SessionQrStatus, verifySessionQr } from './qrcalling-client.js';

/** "14:30" today, else "2 Dec, 14:30" (the phone's own time zone and language). */
export function untilText(date) {
  const when = new Date(date);
  const time = when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return when.toDateString() === new Date().toDateString()
    ? time
    : `${when.toLocaleDateString([], { day: 'numeric', month: 'short' })}, ${time}`;
}

/** Checks a signed QR (payload or link) offline: `{ok, text, result}`; `text` is the line to show, the checked line
 * when `ok`, else why it is refused. Never throws. */
export async function checkSessionQr(text) {
  let result;
  try {
    result = await verifySessionQr(text);
  } catch {
    return { ok: false, text: 'This QR code could not be checked: no connection to the server. Check your network and try again.', result: null };
  }
  switch (result.status) {
    case SessionQrStatus.valid:
      return { ok: true, text: `Checked: this QR code was issued by this site and is valid until ${untilText(result.qr.expiresAt)}.`, result };
    case SessionQrStatus.expired:
      return { ok: false, text: `This QR code has expired: it was valid until ${untilText(result.qr.expiresAt)}. Ask for a new one.`, result };
    case SessionQrStatus.malformed:
      return { ok: false, text: 'This QR code is incomplete or damaged. Scan it again, or ask for a new one.', result };
    default: // unknown-key, bad-signature
      return { ok: false, text: 'This QR code was not issued by this site or was changed. Do not use it: ask for a new one.', result };
  }
}
