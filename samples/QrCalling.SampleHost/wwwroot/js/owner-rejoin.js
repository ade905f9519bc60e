// The owner's call survives a reload of its tab, as the caller's does: what a rejoin needs (the call id, this side's
// anonymous id, media, label, the last seq handled, the answer to the direct-connection question) waits in this tab's
// sessionStorage until the call ends. The tab's device (id and credential) is kept there too, so after a reload the
// same device, the one that accepted, resumes the call.
const CALL_KEY = 'qrcalling.owner.call';

/** Keeps the owner's current call for a reload. */
export function saveOwnerCall(saved) {
  sessionStorage.setItem(CALL_KEY, JSON.stringify(saved));
}

/** The call this tab was in before a reload, or null. */
export function loadOwnerCall() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(CALL_KEY) || 'null');
    return saved && typeof saved.callId === 'string' ? saved : null;
  } catch {
    return null;
  }
}

export function clearOwnerCall() {
  sessionStorage.removeItem(CALL_KEY);
}

/** A `persist` callback for the call's session: keeps lastSeq, direct and mediaOff while this call is the saved one. */
export function persistOwnerCall(saved) {
  return (state) => { if (loadOwnerCall()?.callId === saved.callId) saveOwnerCall({ ...saved, ...state }); };
}

/** What the call is now (GET /calls/{callId} as its owner): the saved call, with when it was answered (for the timer),
 * when it is still active; else null (and the tab forgets it). */
export async function stillActive(saved, authed) {
  try {
    const status = await authed(`/calls/${encodeURIComponent(saved.callId)}`);
    if (status.state === 'active') return { ...saved, answeredAt: status.answeredAt };
  } catch (e) {
    console.warn('owner rejoin', e);
  }
  clearOwnerCall();
  return null;
}
