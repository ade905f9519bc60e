// The proof of work a busy code asks for (POST /calls answers 429 `proof_required` with {challenge, difficulty} when the
// code is over its per-code budget): a solution is a string such that SHA-256 of UTF-8 `challenge:solution` starts with
// `difficulty` zero bits. WebCrypto, in batches, yielding to the page between them.

function leadingZeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) { bits += 8; continue; }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** Finds a solution; `onProgress(tried)` is told now and then. Expected work: about 2^difficulty hashes. */
export async function solveProof(challenge, difficulty, onProgress) {
  const encoder = new TextEncoder();
  const batch = 512;
  for (let start = 0; ; start += batch) {
    const candidates = Array.from({ length: batch }, (_, i) => String(start + i));
    const hashes = await Promise.all(candidates.map((c) => crypto.subtle.digest('SHA-256', encoder.encode(`${challenge}:${c}`))));
    const found = hashes.findIndex((hash) => leadingZeroBits(new Uint8Array(hash)) >= difficulty);
    if (found >= 0) return candidates[found];
    if (start % (batch * 32) === 0) onProgress?.(start + batch);
  }
}
