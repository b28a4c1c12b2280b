"""Witness cosignatures in the C2SP ``tlog-cosignature`` format (``cosignature/v1``, Ed25519), and
the signed-note verifier keys ("vkeys") partner agencies exchange instead of key files.

A cosignature is a note signature line added under the log's own. It differs from the log's
signature in what it commits to: the witness signs ``cosignature/v1``, a ``time`` line and the
checkpoint body, and its key ID uses the type byte 0x04, so a cosignature can never be mistaken for,
or replayed as, a log signature. Its meaning: "as of this time, this is the largest tree I have
seen for this log, and it is consistent with everything I saw before". Standard transparency-log
tools verify both lines.

A vkey ``<name>+<hex key ID>+<base64(type byte || public key)>`` lets a witness pin the log's key
(and the log publish a witness's) as one line of text; no private key file changes hands.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.checkpoint import Checkpoint, SigningKey

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "Cosignature",
    "VerifierKey",
    "cosign",
    "parse_verifier_key",
    "verifier_key",
    "verify_cosignature",
]

#: Signature type bytes (C2SP signed-note): a plain Ed25519 note signature, a v1 cosignature.
ED25519 = 0x01
COSIGNATURE_V1 = 0x04


def key_id(name: str, sig_type: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


def verifier_key(name: str, public: bytes, sig_type: int = ED25519) -> str:
    """The vkey line for an Ed25519 public key used as a log key or as a cosigner key."""
    material = base64.b64encode(bytes([sig_type]) + public).decode()
    return f"{name}+{key_id(name, sig_type, public).hex()}+{material}"


def parse_verifier_key(vkey: str) -> tuple[str, int, bytes]:
    """``(name, signature type, public key)`` from a vkey; ValueError naming what is wrong."""
    parts = vkey.strip().split("+", 2)  # the base64 key may itself contain "+"
    if len(parts) != 3 or not parts[0]:
        raise ValueError("a verifier key is <name>+<key ID hex>+<base64 key>")
    name, hex_id, material = parts
    try:
        raw = base64.b64decode(material, validate=True)
        wanted = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"verifier key for {name!r}: bad encoding") from exc
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise ValueError(f"verifier key for {name!r}: not an Ed25519 key")
    if key_id(name, raw[0], raw[1:]) != wanted:
        raise ValueError(f"verifier key for {name!r}: key ID does not match the key")
    return name, raw[0], raw[1:]


@dataclass(frozen=True)
class VerifierKey:
    """A parsed vkey: who signs, with which signature type, under which public key."""

    name: str
    sig_type: int
    public: bytes

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        return cls(*parse_verifier_key(text))

    def __str__(self) -> str:
        return verifier_key(self.name, self.public, self.sig_type)


def _message(checkpoint: Checkpoint, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint.body}".encode()


def cosign(checkpoint: Checkpoint, key: SigningKey, timestamp: int | None = None) -> Checkpoint:
    """``checkpoint`` with this witness's cosignature/v1 line appended."""
    stamp = int(time.time()) if timestamp is None else timestamp
    if not 0 <= stamp < 2**63:
        raise ValueError("a cosignature timestamp is a POSIX time below 2^63")
    signature = key.private.sign(_message(checkpoint, stamp))
    blob = key_id(key.name, COSIGNATURE_V1, key.public_bytes) + stamp.to_bytes(8, "big") + signature
    line = f"— {key.name} {base64.b64encode(blob).decode()}\n"
    return Checkpoint(checkpoint.origin, checkpoint.size, checkpoint.root,
                      (*checkpoint.signatures, line))


@dataclass(frozen=True)
class Cosignature:
    witness: str
    timestamp: int


def verify_cosignature(checkpoint: Checkpoint, name: str, public: bytes) -> Cosignature | None:
    """The named witness's valid cosignature on ``checkpoint``, or None."""
    wanted = key_id(name, COSIGNATURE_V1, public)
    verifier = Ed25519PublicKey.from_public_bytes(public)
    for line in checkpoint.signatures:
        parts = line.strip().split(" ")
        if len(parts) != 3 or parts[0] != "—" or parts[1] != name:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except (ValueError, binascii.Error):
            continue
        if len(blob) != 4 + 8 + 64 or blob[:4] != wanted:
            continue
        stamp = int.from_bytes(blob[4:12], "big")
        try:
            verifier.verify(blob[12:], _message(checkpoint, stamp))
        except InvalidSignature:
            continue
        return Cosignature(name, stamp)
    return None
