// Runs e2e.js against tests/vectors/e2e-v1.json: `check(module, vectors)` returns a list of failures (empty: all
// matched). E2EBrowserTests runs it inside Chromium (its text inlined into page.evaluate, with e2e.js imported from the
// sample host). For a quick look under Node (which has WebCrypto), from the repository root:
//   node --input-type=module -e "import fs from 'node:fs';
//     const e2e = await import('./samples/QrCalling.SampleHost/wwwroot/js/e2e.js');
//     const { check } = await import('./tests/QrCalling.Browser.Tests/E2E/e2e-vectors-check.js');
//     console.log(await check(e2e, JSON.parse(fs.readFileSync('tests/vectors/e2e-v1.json'))));"
export async function check(e2e, vectors) {
  const failures = [];
  const expect = (what, actual, expected) => { if (actual !== expected) failures.push(`${what}: ${actual} !== ${expected}`); };
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const bytes = (text) => e2e.unb64url(text);
  const keyPair = async (party) => {
    const point = bytes(party.publicKey);
    const jwk = { kty: 'EC', crv: 'P-256', d: party.privateKey, x: e2e.b64url(point.slice(1, 33)), y: e2e.b64url(point.slice(33)), ext: true };
    const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    const publicKey = await crypto.subtle.importKey('raw', point, { name: 'ECDH', namedCurve: 'P-256' }, true, []);
    return { privateKey, publicKey };
  };
  for (const v of vectors.cases) {
    const i = v.initiator, r = v.responder;
    const commit = await e2e.commitment(v.contextId, bytes(v.sid), bytes(i.publicKey), i.fingerprint, bytes(i.nonce));
    expect(`${v.name} commit`, e2e.b64url(commit), v.commit);
    const transcript = await e2e.transcriptHash(v.contextId, bytes(v.sid), bytes(i.publicKey), bytes(r.publicKey), i.fingerprint, r.fingerprint, bytes(i.nonce));
    expect(`${v.name} transcript`, e2e.b64url(transcript), v.transcriptHash);
    const derived = await e2e.derive(bytes(v.sharedSecret), transcript);
    expect(`${v.name} i2r`, hex(derived.i2r), hex(bytes(v.initiatorToResponderKey)));
    expect(`${v.name} r2i`, hex(derived.r2i), hex(bytes(v.responderToInitiatorKey)));
    expect(`${v.name} checkCode`, derived.checkCode, v.checkCode);
    for (const m of v.messages) {
      const fromI = m.from === 'initiator';
      const key = await e2e.aesKey(bytes(fromI ? v.initiatorToResponderKey : v.responderToInitiatorKey));
      expect(`${v.name} seal ${m.from} ${m.counter}`, await e2e.seal(key, fromI ? 1 : 2, m.counter, m.plaintext), m.ciphertext);
    }
    // The whole protocol with the vector's keys, sid and nonce: same code on both sides, the vector's ciphertexts decrypt.
    const initiatorBytes = [bytes(v.sid), bytes(i.nonce)];
    const initiator = new e2e.E2ESession({ role: 'initiator', contextId: v.contextId, localFingerprint: i.fingerprint,
      entropy: { newKeyPair: () => keyPair(i), randomBytes: () => initiatorBytes.shift() } });
    const responder = new e2e.E2ESession({ role: 'responder', contextId: v.contextId, localFingerprint: r.fingerprint,
      entropy: { newKeyPair: () => keyPair(r), randomBytes: () => { throw new Error('the responder draws no random bytes'); } } });
    const wire = (m) => JSON.parse(JSON.stringify(m));
    const first = await initiator.start();
    expect(`${v.name} session commit`, first.commit, v.commit);
    const key = await responder.receive(wire(first));
    const reveal = await initiator.receive(wire(key.reply));
    await responder.receive(wire(reveal.reply));
    expect(`${v.name} initiator code`, initiator.checkCode, v.checkCode);
    expect(`${v.name} responder code`, responder.checkCode, v.checkCode);
    for (const m of v.messages) {
      const plain = await (m.from === 'initiator' ? responder : initiator).decrypt(m.ciphertext);
      expect(`${v.name} decrypt ${m.from} ${m.counter}`, plain.text, m.plaintext);
    }
  }
  return failures;
}
