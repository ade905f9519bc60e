// IP privacy for WebRTC: which ICE policy a call uses, and what of the local candidates and SDP may be sent.
//
// - With a TURN server (or when the app forces relay) a call is relay-only: only relay candidates are gathered, and a
//   relay candidate's related address (raddr/rport: this device's address as the TURN server saw it) is blanked before
//   it is sent.
// - Without TURN a direct connection is the only way to carry media, and it shows each side's IP address to the other.
//   The app then asks its user on that call before it makes an RTCPeerConnection that could gather such candidates;
//   chat needs no ICE at all.

/** True when the list holds a TURN server (a `turn:` or `turns:` URL). */
export function hasTurn(iceServers) {
  return (iceServers ?? []).some((server) => [server?.urls ?? []].flat().some((url) => /^turns?:/i.test(String(url))));
}

/** 'relay' when media can go through a relay (TURN configured, or `forceRelay`); otherwise 'ask': a direct connection
 * needs the user's consent on this call. */
export function icePolicy(iceServers, forceRelay = false) {
  return forceRelay || hasTurn(iceServers) ? 'relay' : 'ask';
}

/** The `typ` of a candidate line ('host', 'srflx', 'prflx', 'relay'), or '' when it has none. */
export function candidateType(candidate) {
  return / typ (\w+)/.exec(candidate ?? '')?.[1] ?? '';
}

/** A candidate line as it may be sent: null when it must not leave this device (anything but relay while relay-only);
 * a relay candidate's raddr/rport replaced by 0.0.0.0 (:: for IPv6) and 0. */
export function sanitizeCandidateLine(candidate, relayOnly) {
  if (!candidate) return candidate;
  const type = candidateType(candidate);
  if (relayOnly && type !== 'relay') return null;
  if (type !== 'relay') return candidate;
  const address = candidate.split(' ')[4] ?? '';
  const blank = address.includes(':') ? '::' : '0.0.0.0';
  return candidate.replace(/ raddr \S+ rport \d+/, ` raddr ${blank} rport 0`);
}

/** An RTCIceCandidateInit as it may be sent, or null (see sanitizeCandidateLine). An end-of-candidates marker (empty
 * candidate) passes. */
export function sanitizeCandidate(init, relayOnly) {
  if (!init?.candidate) return init;
  const candidate = sanitizeCandidateLine(init.candidate, relayOnly);
  return candidate === null ? null : { ...init, candidate };
}

/** An SDP as it may be sent: candidate lines as above; while relay-only, the connection (`c=`) and `a=rtcp` addresses
 * (the default candidate's) blanked too. */
export function sanitizeSdp(sdp, relayOnly) {
  if (typeof sdp !== 'string') return sdp;
  const lines = [];
  for (const line of sdp.split('\r\n')) {
    if (line.startsWith('a=candidate:')) {
      const safe = sanitizeCandidateLine(line.slice(2), relayOnly);
      if (safe !== null) lines.push('a=' + safe);
    } else if (relayOnly && line.startsWith('c=IN IP6 ')) {
      lines.push('c=IN IP6 ::');
    } else if (relayOnly && line.startsWith('c=IN IP4 ')) {
      lines.push('c=IN IP4 0.0.0.0');
    } else if (relayOnly && /^a=rtcp:\d+ IN IP[46] /.test(line)) {
      lines.push(line.replace(/ IN IP4 \S+$/, ' IN IP4 0.0.0.0').replace(/ IN IP6 \S+$/, ' IN IP6 ::'));
    } else {
      lines.push(line);
    }
  }
  return lines.join('\r\n');
}
