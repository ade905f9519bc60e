// Runs client/session-qr.js against tests/vectors/session-qr-v1.json: `check(module, vectors)` returns a list of
// failures (empty: every case gives the .NET verifier's status and parts). SessionQrPageTests runs it inside Chromium
// (its text inlined into page.evaluate, with the module imported from the sample host). Under Node (WebCrypto), from
// the repository root:
//   node --input-type=module -e "import fs from 'node:fs';
//     const m = await import('./samples/QrCalling.SampleHost/wwwroot/js/client/session-qr.js');
//     const { check } = await import('./tests/QrCalling.Browser.Tests/SessionQr/session-qr-vectors-check.js');
//     console.log(await check(m, JSON.parse(fs.readFileSync('tests/vectors/session-qr-v1.json'))));"
export async function check(m, vectors) {
  const failures = [];
  const expect = (what, actual, expected) => { if (actual !== expected) failures.push(`${what}: ${actual} !== ${expected}`); };
  const keys = await m.importSessionQrKeys([vectors.testKey]);
  expect('imported test keys', keys.length, 1);
  expect('test key id', keys[0]?.kid, vectors.testKey.kid);
  const spki = Uint8Array.from(atob(vectors.testKey.spki.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (vectors.testKey.spki.length % 4)) % 4)), (c) => c.charCodeAt(0));
  expect('key id from the SPKI', await m.sessionQrKeyId(spki), vectors.testKey.kid);
  // A key listed under another key's id is not trusted.
  expect('mislabelled key left out', (await m.importSessionQrKeys([{ ...vectors.otherKey, kid: vectors.testKey.kid }])).length, 0);
  for (const v of vectors.cases) {
    const result = await m.verifySessionQrWith(v.text, keys, v.now * 1000);
    expect(`${v.name} status`, result.status, v.status);
    expect(`${v.name} valid`, result.valid, v.status === 'valid');
    if (v.status === 'malformed') {
      expect(`${v.name} qr`, result.qr, null);
      expect(`${v.name} error`, typeof result.error, 'string');
      continue;
    }
    expect(`${v.name} kind`, result.qr?.kind, v.kind);
    expect(`${v.name} keyId`, result.qr?.keyId, v.keyId);
    expect(`${v.name} expiry`, result.qr?.expirySeconds, v.expiry);
    expect(`${v.name} expiresAt`, result.qr?.expiresAt?.getTime(), v.expiry * 1000);
    expect(`${v.name} subject`, result.qr?.subject, v.subject);
    expect(`${v.name} payload`, result.qr?.payload, v.payload);
    expect(`${v.name} isSessionQr`, m.isSessionQr(v.text), true);
    // With both keys listed, another host's QR verifies (and only then).
    if (v.status === 'unknown-key') {
      const both = await m.importSessionQrKeys([vectors.testKey, vectors.otherKey]);
      const again = await m.verifySessionQrWith(v.text, both, v.now * 1000);
      expect(`${v.name} with the other key`, again.status === 'valid' || again.status === 'expired', true);
    }
  }
  const room = vectors.cases.find((v) => v.name === 'valid-room');
  const roomQr = (await m.verifySessionQrWith(room.text, keys, room.now * 1000)).qr;
  expect('room payload', m.sessionQrRoomPayload(roomQr), `PQR:1:${room.subject.replace('-', ':')}`);
  return failures;
}
