// The ICE policy and candidate sanitising live in the JavaScript client module (client/ice.js); this path keeps the
// page's own setting (?relay=1 or qrcallingConfig.forceRelay) for pages and tests that import it.
import { forceRelay } from './api.js';
import { icePolicy as policy } from './client/ice.js';

export { candidateType, hasTurn, sanitizeCandidate, sanitizeCandidateLine, sanitizeSdp } from './client/ice.js';

/** 'relay' when media can go through a relay (TURN configured, or the page forces relay); otherwise 'ask'. */
export function icePolicy(iceServers) {
  return policy(iceServers, forceRelay());
}
