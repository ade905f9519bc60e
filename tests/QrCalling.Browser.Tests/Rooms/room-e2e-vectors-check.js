// Checks wwwroot/js/client/room-e2e.js against tests/vectors/room-e2e-v1.json (docs/e2e.md, "Rooms"): roles from the
// ordering of the ids, the context id, the envelope, every derivation (through e2e.js), the whole pairwise protocol
// with the vectors' keys, and the refusals the rooms extension adds (another kind, another pair's ciphertext, replay,
// a server relabelling the sender). Returns the failures (empty: all good).
// RoomPageTests runs it in Chromium (its text inlined into page.evaluate). Under Node (which has WebCrypto), from the
// repository root:
//   node --input-type=module -e "import fs from 'node:fs';
//     const e2e = await import('./samples/QrCalling.SampleHost/wwwroot/js/client/e2e.js');
//     const rooms = await import('./samples/QrCalling.SampleHost/wwwroot/js/client/room-e2e.js');
//     const { check } = await import('./tests/QrCalling.Browser.Tests/Rooms/room-e2e-vectors-check.js');
//     console.log(await check(e2e, rooms, JSON.parse(fs.readFileSync('tests/vectors/room-e2e-v1.json'))));"
export async function check(e2e, rooms, vectors) {
  const failures = [];
  const expect = (what, actual, expected) => { if (actual !== expected) failures.push(`${what}: ${actual} !== ${expected}`); };
  const refused = async (what, reason, action) => {
    try { await action(); failures.push(`${what}: accepted, expected ${reason}`); } catch (e) { expect(`${what} reason`, e?.reason, reason); }
  };
  const bytes = (text) => e2e.unb64url(text);
  const keyPair = async (party) => {
    const point = bytes(party.publicKey);
    const jwk = { kty: 'EC', crv: 'P-256', d: party.privateKey, x: e2e.b64url(point.slice(1, 33)), y: e2e.b64url(point.slice(33)), ext: true };
    const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    const publicKey = await crypto.subtle.importKey('raw', point, { name: 'ECDH', namedCurve: 'P-256' }, true, []);
    return { privateKey, publicKey };
  };
  const wire = (m) => JSON.parse(JSON.stringify(m));
  const codes = new Set();
  for (const v of vectors.cases) {
    try {
      await checkCase(v);
    } catch (e) {
      failures.push(`${v.name}: threw ${e?.message ?? e}`);
    }
  }
  expect('every case has its own code', codes.size, vectors.cases.length - 1); // cases 1 and 2 are the same pair
  return failures;

  async function checkCase(v) {
    const i = v.initiator, r = v.responder;
    expect(`${v.name} role A`, rooms.roomPairRole(v.participantA, v.participantB), v.participantA === v.initiatorId ? 'initiator' : 'responder');
    expect(`${v.name} role B`, rooms.roomPairRole(v.participantB, v.participantA), v.participantB === v.initiatorId ? 'initiator' : 'responder');
    expect(`${v.name} context`, rooms.roomContextId(v.roomId, v.participantA, v.participantB), v.contextId);
    expect(`${v.name} context reversed`, rooms.roomContextId(v.roomId, v.participantB, v.participantA), v.contextId);
    const commit = await e2e.commitment(v.contextId, bytes(v.sid), bytes(i.publicKey), '', bytes(i.nonce));
    expect(`${v.name} commit`, e2e.b64url(commit), v.commit);
    const transcript = await e2e.transcriptHash(v.contextId, bytes(v.sid), bytes(i.publicKey), bytes(r.publicKey), '', '', bytes(i.nonce));
    expect(`${v.name} transcript`, e2e.b64url(transcript), v.transcriptHash);
    const derived = await e2e.derive(bytes(v.sharedSecret), transcript);
    expect(`${v.name} checkCode`, derived.checkCode, v.checkCode);
    codes.add(v.checkCode);
    for (const m of v.messages) expect(`${v.name} envelope ${m.counter}`, rooms.roomPlaintext(m.kind, m.body), m.plaintext);

    // The whole pairwise protocol between two RoomE2E instances with the vector's keys, sid and nonce.
    const initiatorBytes = [bytes(v.sid), bytes(i.nonce)];
    const initiator = new rooms.RoomE2E({ roomId: v.roomId, myId: v.initiatorId,
      entropy: { newKeyPair: () => keyPair(i), randomBytes: () => initiatorBytes.shift() } });
    const responder = new rooms.RoomE2E({ roomId: v.roomId, myId: v.responderId,
      entropy: { newKeyPair: () => keyPair(r), randomBytes: () => { throw new Error('the responder draws no random bytes'); } } });
    const events = [];
    responder.addEventListener('pair', (e) => events.push(e.detail.status));
    // The responder joined last: it asks the initiator to start (restart), the initiator commits.
    const restart = await responder.start(v.initiatorId);
    expect(`${v.name} responder starts with`, restart.kind, 'restart');
    const first = (await initiator.receiveKey(v.responderId, wire(restart))).reply;
    expect(`${v.name} commit on the wire`, first.commit, v.commit);
    expect(`${v.name} no public key in the commit`, first.publicKey, undefined);
    const key = (await responder.receiveKey(v.initiatorId, wire(first))).reply;
    const reveal = await initiator.receiveKey(v.responderId, wire(key));
    const done = await responder.receiveKey(v.initiatorId, wire(reveal.reply));
    expect(`${v.name} initiator code`, initiator.checkCode(v.responderId), v.checkCode);
    expect(`${v.name} responder code`, responder.checkCode(v.initiatorId), v.checkCode);
    expect(`${v.name} first code is not a change`, done.changed, false);
    expect(`${v.name} responder events`, events.join(','), 'exchanging,exchanging,established');
    const firstFromI = v.messages.find((m) => m.from === 'initiator');
    const sealed = await initiator.encryptFor([v.responderId, 'p_absent'], firstFromI.kind, firstFromI.body);
    expect(`${v.name} encryptFor`, sealed.ciphertexts[v.responderId], firstFromI.ciphertext);
    expect(`${v.name} skipped`, sealed.skipped.join(','), 'p_absent');
    for (const m of v.messages) {
      const [receiver, sender] = m.from === 'initiator' ? [responder, v.initiatorId] : [initiator, v.responderId];
      const plain = await receiver.decryptFrom(sender, m.kind, m.ciphertext);
      expect(`${v.name} decrypt ${m.from} ${m.counter}`, JSON.stringify(plain.body), JSON.stringify(m.body));
    }
    const m0 = v.messages[0];
    const [receiver0, sender0] = m0.from === 'initiator' ? [responder, v.initiatorId] : [initiator, v.responderId];
    await refused(`${v.name} replay`, 'replay', () => receiver0.decryptFrom(sender0, m0.kind, m0.ciphertext));
    await refused(`${v.name} reflected`, 'direction', () => (m0.from === 'initiator' ? initiator : responder)
      .decryptFrom(m0.from === 'initiator' ? v.responderId : v.initiatorId, m0.kind, m0.ciphertext));
    // A fresh message relabelled by the server: another kind, then another sender.
    // (Past the highest counter the vectors used, which the responder accepted: gaps are allowed.)
    for (const m of v.messages) if (m.from === 'initiator') await initiator.encryptFor([v.responderId], 'text', 'skipped');
    const next = (await initiator.encryptFor([v.responderId], 'text', 'relabelled')).ciphertexts[v.responderId];
    await refused(`${v.name} other kind`, 'kind', () => responder.decryptFrom(v.initiatorId, 'file-offer', next));
    const next2 = (await initiator.encryptFor([v.responderId], 'text', 'other sender')).ciphertexts[v.responderId];
    await refused(`${v.name} unknown sender`, 'no-session', () => responder.decryptFrom('p_somebodyElse', 'text', next2));
    const accepted = await responder.decryptFrom(v.initiatorId, 'text', next2);
    expect(`${v.name} after refusals`, accepted.body, 'other sender');
    // A new exchange (the initiator reloaded: a fresh session commits again) is a visible change on the responder.
    const again = new rooms.RoomE2E({ roomId: v.roomId, myId: v.initiatorId });
    const key2 = (await responder.receiveKey(v.initiatorId, wire(await again.start(v.responderId)))).reply;
    expect(`${v.name} reset on a new commit`, events.at(-1), 'reset');
    expect(`${v.name} code gone during the new exchange`, responder.checkCode(v.initiatorId), null);
    const reveal2 = (await again.receiveKey(v.responderId, wire(key2))).reply;
    const changed = await responder.receiveKey(v.initiatorId, wire(reveal2));
    expect(`${v.name} new code is a change`, changed.changed, true);
    expect(`${v.name} new code on both`, again.checkCode(v.responderId), responder.checkCode(v.initiatorId));
  }
}
