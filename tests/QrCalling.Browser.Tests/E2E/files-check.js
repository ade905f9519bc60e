// Checks of wwwroot/js/client/files.js, run in Chromium by FileTransferTests: the shared vectors (files-v1.json) and
// the protocol between two FileTransfers over a relay that tampers. Returns a list of failures (empty: all good).
export async function check(files, vectors) {
  const failures = [];
  const expect = (ok, what) => { if (!ok) failures.push(what); };
  const unb64 = (t) => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

  // ---- vectors ----
  for (const c of vectors.cases) {
    const key = unb64(c.key);
    const id = unb64(c.fileId);
    const content = unb64(c.content);
    expect(hex(await files.sha256(content)) === hex(unb64(c.sha256)), `${c.name}: sha256`);
    for (let i = 0; i < c.frames.length; i++) {
      expect(hex(files.chunkHeader(id, i)) === c.headers[i], `${c.name}: header ${i}`);
      expect(hex(files.chunkNonce(i)) === c.nonces[i], `${c.name}: nonce ${i}`);
      const plain = content.subarray(i * c.chunkBytes, (i + 1) * c.chunkBytes);
      const frame = await files.sealChunk(key, id, i, plain);
      expect(btoa(String.fromCharCode(...frame)) === c.frames[i], `${c.name}: frame ${i}`);
      expect(same(await files.openChunk(key, unb64(c.frames[i])), plain), `${c.name}: open ${i}`);
      const flipped = unb64(c.frames[i]);
      flipped[flipped.length - 20] ^= 1;
      try { await files.openChunk(key, flipped); failures.push(`${c.name}: flipped bit accepted`); } catch (e) { expect(e.reason === 'authentication', `${c.name}: flipped → ${e.reason}`); }
    }
    const offer = files.parseControl(c.offerText);
    expect(offer.kind === 'offer' && offer.chunks === c.frames.length && offer.size === content.length, `${c.name}: offer`);
  }

  // ---- two sides over a relay that may tamper ----
  const quiet = () => new Promise((r) => setTimeout(r, 30));
  function pair({ tamper = (frame, send) => send(frame), senderMax, receiverMax } = {}) {
    let chain = Promise.resolve();
    const log = { a: [], b: [] };
    const a = new files.FileTransfers({ encrypt: async (t) => t, decrypt: async (t) => t, send: async (f) => tamper(f, (g) => { chain = chain.then(() => b.receiveFrame(g)); }), chunkBytes: 4096, maxBytes: senderMax });
    const b = new files.FileTransfers({ encrypt: async (t) => t, decrypt: async (t) => t, send: async (f) => { chain = chain.then(() => a.receiveFrame(f)); }, maxBytes: receiverMax });
    for (const [side, t] of [['a', a], ['b', b]]) {
      for (const type of ['offer', 'complete', 'delivered', 'saved', 'failed', 'refused']) {
        t.addEventListener(type, (e) => log[side].push(type === 'failed' ? `failed:${e.detail.reason}` : type === 'refused' ? `refused:${e.detail.reason}` : type));
      }
    }
    b.addEventListener('offer', (e) => { if (b.autoAccept !== false) b.accept(e.detail.transfer.id); });
    b.addEventListener('complete', (e) => { log.blob = e.detail.blob; });
    const settle = async () => { for (let i = 0; i < 40; i++) { await chain; await quiet(); } };
    return { a, b, log, settle };
  }
  const content = Uint8Array.from({ length: 20000 }, (_, i) => (i * 31 + 7) % 256); // 5 chunks of 4096 (the last 3616)
  const isChunk = (f) => typeof f.c === 'string';
  const chunkIndex = (f) => new DataView(unb64(f.c).buffer).getUint32(17);

  { // honest relay: complete, same bytes, delivered, saved
    const p = pair();
    const t = await p.a.offer({ name: '../x/photo.jpg', type: 'image/jpeg', bytes: content });
    await p.settle();
    expect(p.log.b.includes('complete') && p.log.a.includes('delivered'), `honest: ${p.log.a} / ${p.log.b}`);
    expect(p.log.blob && same(new Uint8Array(await p.log.blob.arrayBuffer()), content), 'honest: bytes differ');
    expect(p.b.transfers.get(t.id)?.name === 'photo.jpg', 'honest: folders kept in the name');
    await p.b.markSaved(t.id);
    await p.settle();
    expect(p.log.a.includes('saved'), 'honest: saved not notified');
  }
  { // a relay that delivers before it confirms the send (a slow server): the receiver's done and saved arrive while the
    // sender still waits for the last chunk's confirmation; they must still count
    const p = pair({ tamper: (f, send) => { send(f); return isChunk(f) && chunkIndex(f) === 4 ? new Promise((r) => setTimeout(r, 300)) : undefined; } });
    const t = await p.a.offer({ name: 'slow.bin', bytes: content });
    p.b.addEventListener('complete', () => p.b.markSaved(t.id));
    await p.settle();
    expect(p.log.a.includes('delivered') && p.log.a.includes('saved') && !p.log.a.some((x) => x.startsWith('refused')), `slow relay: ${p.log.a} / ${p.log.b}`);
  }
  const mustFail = async (label, tamper, expectedRefusal, extra = {}) => {
    const p = pair({ tamper, ...extra });
    await p.a.offer({ name: 'f.bin', type: '', bytes: content }).catch((e) => p.log.a.push(`throw:${e.reason}`));
    await p.settle();
    expect(!p.log.b.includes('complete'), `${label}: completed (${p.log.b})`);
    expect(!p.log.a.includes('delivered'), `${label}: delivered`);
    if (expectedRefusal) expect(p.log.b.includes(`refused:${expectedRefusal}`) || p.log.a.includes(`refused:${expectedRefusal}`), `${label}: no ${expectedRefusal} refusal (${p.log.a} / ${p.log.b})`);
    return p;
  };
  { // a changed bit in chunk 2: refused, then chunk 3 is out of order: the file is thrown away on both sides
    const p = await mustFail('tampered', (f, send) => { if (isChunk(f) && chunkIndex(f) === 2) { const b = unb64(f.c); b[40] ^= 4; send({ c: btoa(String.fromCharCode(...b)) }); } else send(f); }, 'authentication');
    expect(p.log.b.includes('failed:corrupt') && p.log.a.includes('failed:corrupt'), `tampered: ${p.log.a} / ${p.log.b}`);
  }
  { // chunks 1 and 2 swapped
    let held = null;
    const p = await mustFail('reordered', (f, send) => {
      if (isChunk(f) && chunkIndex(f) === 1 && !held) { held = f; return; }
      send(f);
      if (held && isChunk(f) && chunkIndex(f) === 2) { send(held); }
    }, 'order');
    expect(p.log.b.includes('failed:corrupt'), `reordered: ${p.log.b}`);
  }
  { // the last chunk dropped: never complete, nothing to save
    const p = await mustFail('truncated', (f, send) => { if (!(isChunk(f) && chunkIndex(f) === 4)) send(f); }, null);
    expect(![...p.b.transfers.values()].some((t) => t.blob), 'truncated: a blob exists');
  }
  { // a chunk replayed: ignored (refused 'order'), the file is still right
    const p = pair({ tamper: (f, send) => { send(f); if (isChunk(f) && chunkIndex(f) === 1) send(f); } });
    await p.a.offer({ name: 'f.bin', bytes: content });
    await p.settle();
    expect(p.log.b.includes('refused:order') && p.log.b.includes('complete'), `replayed: ${p.log.b}`);
    expect(p.log.blob && same(new Uint8Array(await p.log.blob.arrayBuffer()), content), 'replayed: bytes differ');
  }
  { // a sender whose offer has another file's hash: thrown away
    const p = await mustFail('wrong hash', (f, send) => {
      if (typeof f.m === 'string' && f.m.includes('"offer"')) {
        const m = JSON.parse(f.m.slice(files.CONTROL_PREFIX.length));
        m.sha256 = 'A'.repeat(43);
        send({ m: files.CONTROL_PREFIX + JSON.stringify(m) });
      } else send(f);
    }, 'hash');
    expect(p.log.b.includes('failed:corrupt') && p.log.a.includes('failed:corrupt'), `wrong hash: ${p.log.a} / ${p.log.b}`);
  }
  { // over the receiver's cap: declined as too large without asking
    const p = await mustFail('receiver cap', undefined, null, { receiverMax: 10000 });
    expect(p.log.a.includes('failed:too-large') && p.log.b.includes('failed:too-large') && !p.log.b.includes('offer'), `receiver cap: ${p.log.a} / ${p.log.b}`);
  }
  { // over the sender's cap: nothing is sent
    let sent = 0;
    const p = await mustFail('sender cap', (f, send) => { sent++; send(f); }, null, { senderMax: 10000 });
    expect(p.log.a.includes('throw:too-large') && sent === 0, `sender cap: ${p.log.a}, ${sent} frames`);
  }
  { // declined: no chunk flows
    let chunks = 0;
    const p = pair({ tamper: (f, send) => { if (isChunk(f)) chunks++; send(f); } });
    p.b.autoAccept = false;
    p.b.addEventListener('offer', (e) => p.b.decline(e.detail.transfer.id));
    await p.a.offer({ name: 'f.bin', bytes: content });
    await p.settle();
    expect(p.log.a.includes('failed:declined') && chunks === 0, `declined: ${p.log.a}, ${chunks} chunks`);
  }
  { // chunks before accept (an unsolicited download): refused
    let early = null;
    const p = pair({ tamper: (f, send) => { if (typeof f.m === 'string' && f.m.includes('"offer"')) early = f; send(f); } });
    p.b.autoAccept = false;
    const t = await p.a.offer({ name: 'f.bin', bytes: content });
    await p.settle();
    const frame = await files.sealChunk(new Uint8Array(32), t.idBytes, 0, content.subarray(0, 4096));
    await p.b.receiveFrame({ c: btoa(String.fromCharCode(...frame)) });
    expect(p.log.b.includes('refused:unexpected') && early !== null, `unsolicited: ${p.log.b}`);
  }
  return failures;
}
