#!/usr/bin/env python3
"""Writes tests/vectors/room-e2e-v1.json: test vectors of the rooms extension of E2E v1 (docs/e2e.md, "Rooms"),
computed with Python's `cryptography` through the E2E v1 functions of make-e2e-v1.py (the derivations are the same;
rooms add the pair's roles, from ordering the two participant ids, the context id `room:<roomId>:<initiatorId>:
<responderId>`, no DTLS fingerprints, and the JSON envelope inside every ciphertext). The web app's
wwwroot/js/client/room-e2e.js is checked against this file in Chromium.
Run: python3 tests/vectors/make-room-e2e-v1.py > tests/vectors/room-e2e-v1.json"""
import importlib.util, json, os, sys

spec = importlib.util.spec_from_file_location('e2e_v1', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'make-e2e-v1.py'))
v1 = importlib.util.module_from_spec(spec)
stdout, sys.stdout = sys.stdout, open(os.devnull, 'w')  # make-e2e-v1.py prints its own vectors when loaded
try:
    spec.loader.exec_module(v1)
finally:
    sys.stdout.close()
    sys.stdout = stdout

def envelope(kind, body):
    return json.dumps({'v': 1, 'kind': kind, 'body': body}, ensure_ascii=False, separators=(',', ':'))

def room_case(name, room_id, me, peer, sid, k_me, k_peer, nonce, messages):
    """`me` and `peer` in any order: the smaller id (code points; the ids are ASCII) is the initiator."""
    initiator, responder = (me, peer) if me < peer else (peer, me)
    k_i, k_r = (k_me, k_peer) if me < peer else (k_peer, k_me)
    ctx = f'room:{room_id}:{initiator}:{responder}'
    plain = [(who, counter, envelope(kind, body)) for who, counter, kind, body in messages]
    c = v1.case(name, ctx, sid, k_i, k_r, nonce, '', '', plain)
    c.update({'roomId': room_id, 'participantA': me, 'participantB': peer, 'initiatorId': initiator, 'responderId': responder})
    for m, (_, _, kind, body) in zip(c['messages'], messages):
        m['kind'] = kind
        m['body'] = body
    return c

room = 'K7Q2M4ZP3X5RBN6TWD2YJHC4LE'
anna, ben, cleo = 'p_Zk3v9Qx2LmA7pT4rB8sWcE', 'p_a1B2c3D4e5F6g7H8i9J0kL', 'p_M0nP1qR2sT3uV4wX5yZ6aB'
cases = [
    room_case('room pair, ids given in order', room, anna, ben, bytes(range(50, 66)),
              v1.key(b'room anna'), v1.key(b'room ben'), bytes(range(70, 102)),
              [('initiator', 1, 'text', 'hello room'), ('responder', 1, 'text', 'hi \u00e9\u2713'), ('initiator', 3, 'text', 'after a gap')]),
    room_case('room pair, ids given in reverse order (roles from ordering)', room, ben, anna, bytes(range(50, 66)),
              v1.key(b'room ben'), v1.key(b'room anna'), bytes(range(70, 102)),
              [('initiator', 1, 'text', 'hello room')]),
    room_case('same keys, another participant id: another code', room, cleo, ben, bytes(range(50, 66)),
              v1.key(b'room anna'), v1.key(b'room ben'), bytes(range(70, 102)),
              [('initiator', 1, 'text', 'hello room')]),
    room_case('same keys and ids, another room: another code', 'B3VQ7N2KX4M5ZP6RT2WD8YJHCE', anna, ben, bytes(range(50, 66)),
              v1.key(b'room anna'), v1.key(b'room ben'), bytes(range(70, 102)),
              [('initiator', 1, 'file-saved', {'fileId': 'f1'})]),
]
print(json.dumps({'description': 'QrCalling rooms E2E v1 test vectors (docs/e2e.md, Rooms): bytes base64url without padding, ciphertexts standard base64; plaintext is the JSON envelope.', 'cases': cases}, indent=2, ensure_ascii=False))
