#!/usr/bin/env python3
"""Writes files-v1.json: test vectors of Files v1 (docs/e2e.md section 9), with Python's `cryptography` as a third
implementation next to wwwroot/js/client/files.js and QrCalling.Client's E2EFileCrypto. Deterministic: run it again
and the file does not change."""
import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "\u0000qrcalling-file\u0000"


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def header(file_id: bytes, index: int) -> bytes:
    return bytes([1]) + file_id + struct.pack(">I", index)


def nonce(index: int) -> bytes:
    return bytes(8) + struct.pack(">I", index)


def seal(key: bytes, file_id: bytes, index: int, plain: bytes) -> bytes:
    h = header(file_id, index)
    return h + AESGCM(key).encrypt(nonce(index), plain, h)


def case(name: str, key: bytes, file_id: bytes, content: bytes, chunk_bytes: int, file_name: str, file_type: str):
    chunks = max(1, -(-len(content) // chunk_bytes))
    frames = [seal(key, file_id, i, content[i * chunk_bytes:(i + 1) * chunk_bytes]) for i in range(chunks)]
    offer = {"file": 1, "kind": "offer", "id": b64url(file_id), "name": file_name, "size": len(content), "type": file_type,
             "chunkBytes": chunk_bytes, "chunks": chunks, "sha256": b64url(hashlib.sha256(content).digest()), "key": b64url(key)}
    return {
        "name": name,
        "key": b64url(key),
        "fileId": b64url(file_id),
        "content": b64(content),
        "chunkBytes": chunk_bytes,
        "sha256": b64url(hashlib.sha256(content).digest()),
        "headers": [header(file_id, i).hex() for i in range(chunks)],
        "nonces": [nonce(i).hex() for i in range(chunks)],
        "frames": [b64(f) for f in frames],
        "offerText": PREFIX + json.dumps(offer, separators=(",", ":"), ensure_ascii=False),
    }


def main():
    key1 = bytes(range(32))
    id1 = bytes(range(0xA0, 0xB0))
    content1 = bytes((i * 7 + 3) % 256 for i in range(2500))
    key2 = hashlib.sha256(b"files-v1 case 2 key").digest()
    id2 = hashlib.sha256(b"files-v1 case 2 id").digest()[:16]
    cases = [
        case("three chunks, the last one short", key1, id1, content1, 1024, "holiday photo.jpg", "image/jpeg"),
        case("an empty file is one empty chunk", key2, id2, b"", 1024, "empty.txt", "text/plain"),
        case("one full chunk", key2, id1, bytes((i * 13) % 251 for i in range(1024)), 1024, "r\u00e9sum\u00e9 \u2713.pdf", "application/pdf"),
    ]
    doc = {
        "description": "Files v1 (docs/e2e.md section 9): chunk = header(version 1, file id, index u32 BE) || AES-256-GCM(key, "
                       "nonce = 8 zero bytes || index u32 BE, aad = header) || tag. frames are standard base64; key, fileId, "
                       "sha256 base64url; offerText is a control message's plaintext (prefix + JSON).",
        "controlPrefix": PREFIX,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files-v1.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
