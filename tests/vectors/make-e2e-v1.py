#!/usr/bin/env python3
"""Writes tests/vectors/e2e-v1.json: the QrCalling E2E v1 test vectors (docs/e2e.md), computed here with Python's
`cryptography`, a third implementation next to the .NET one (src/QrCalling.Client/E2E) and the web app's
(samples/QrCalling.SampleHost/wwwroot/js/e2e.js); both of those check their results against this file.
Run: python3 tests/vectors/make-e2e-v1.py > tests/vectors/e2e-v1.json"""
import base64, hashlib, hmac, json, struct
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization

def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
def lp(b): return struct.pack('>I', len(b)) + b
def u8(s): return s.encode('utf-8')

def key(seed):
    d = int.from_bytes(hashlib.sha256(seed).digest(), 'big') % (2**256 - 2**224) or 1
    k = ec.derive_private_key(d, ec.SECP256R1())
    pub = k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return k, d.to_bytes(32, 'big'), pub

def hkdf(salt, ikm, info, n):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b'', b'', 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:n]

def commit(ctx, sid, pub_i, fp_i, nonce):
    return hashlib.sha256(lp(b'QrCalling E2E v1 commit') + lp(u8(ctx)) + lp(sid) + lp(pub_i) + lp(u8(fp_i)) + lp(nonce)).digest()

def transcript(ctx, sid, pub_i, pub_r, fp_i, fp_r, nonce):
    return lp(b'QrCalling E2E v1') + lp(u8(ctx)) + lp(sid) + lp(pub_i) + lp(pub_r) + lp(u8(fp_i)) + lp(u8(fp_r)) + lp(nonce)

def seal(k, direction, counter, text):
    header = bytes([1, direction]) + struct.pack('>Q', counter)
    nonce = bytes([0, 0, 0, direction]) + struct.pack('>Q', counter)
    return base64.b64encode(header + AESGCM(k).encrypt(nonce, u8(text), header)).decode()

def case(name, ctx, sid, ki, kr, nonce, fp_i, fp_r, messages):
    (k_i, d_i, pub_i), (k_r, d_r, pub_r) = ki, kr
    z = k_i.exchange(ec.ECDH(), k_r.public_key())
    salt = hashlib.sha256(transcript(ctx, sid, pub_i, pub_r, fp_i, fp_r, nonce)).digest()
    k_ir = hkdf(salt, z, b'qrcalling e2e v1 initiator to responder', 32)
    k_ri = hkdf(salt, z, b'qrcalling e2e v1 responder to initiator', 32)
    sas = int.from_bytes(hkdf(salt, z, b'qrcalling e2e v1 check code', 8), 'big') % 1_000_000
    out = []
    for who, counter, text in messages:
        k, direction = (k_ir, 1) if who == 'initiator' else (k_ri, 2)
        out.append({'from': who, 'counter': counter, 'plaintext': text, 'ciphertext': seal(k, direction, counter, text)})
    return {
        'name': name, 'contextId': ctx, 'sid': b64u(sid),
        'initiator': {'privateKey': b64u(d_i), 'publicKey': b64u(pub_i), 'nonce': b64u(nonce), 'fingerprint': fp_i},
        'responder': {'privateKey': b64u(d_r), 'publicKey': b64u(pub_r), 'fingerprint': fp_r},
        'commit': b64u(commit(ctx, sid, pub_i, fp_i, nonce)),
        'sharedSecret': b64u(z), 'transcriptHash': b64u(salt),
        'initiatorToResponderKey': b64u(k_ir), 'responderToInitiatorKey': b64u(k_ri),
        'checkCode': f'{sas // 1000:03d} {sas % 1000:03d}',
        'messages': out,
    }

fp_a = 'sha-256 ' + ':'.join(f'{b:02X}' for b in hashlib.sha256(b'caller dtls certificate').digest())
fp_b = 'sha-256 ' + ':'.join(f'{b:02X}' for b in hashlib.sha256(b'owner dtls certificate').digest())
cases = [
    case('voice call with both DTLS fingerprints', 'call_vectors0000000000000001', bytes(range(16)),
         key(b'initiator one'), key(b'responder one'), bytes(range(32, 64)), fp_a, fp_b,
         [('initiator', 1, 'hello from the door'), ('responder', 1, 'coming!'), ('initiator', 2, 'thanks \u00e9\u2713'), ('responder', 5, '')]),
    case('chat-only call: no fingerprints', 'call_vectors0000000000000002', bytes(range(100, 116)),
         key(b'initiator two'), key(b'responder two'), bytes(range(200, 232)), '', '',
         [('initiator', 1, 'chat only'), ('responder', 1, 'ok')]),
    case('same keys, the owner fingerprint substituted', 'call_vectors0000000000000001', bytes(range(16)),
         key(b'initiator one'), key(b'responder one'), bytes(range(32, 64)), fp_a,
         'sha-256 ' + ':'.join(f'{b:02X}' for b in hashlib.sha256(b'server dtls certificate').digest()),
         [('initiator', 1, 'hello from the door')]),
]
print(json.dumps({'description': 'QrCalling E2E v1 test vectors (docs/e2e.md); bytes are base64url without padding, chat ciphertexts standard base64.', 'cases': cases}, indent=2, ensure_ascii=False))
