"""Signed checkpoints in the C2SP tlog-checkpoint signed-note format, with Ed25519.

A checkpoint commits the log to a size and a root hash. It is a plain-text note, so a partner
agency can read, verify and countersign it with standard tools:

    <origin>
    <tree size>
    <base64 root hash>

    — <key name> <base64(4-byte key hash || 64-byte signature)>
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["Checkpoint", "SigningKey", "parse_checkpoint", "verify_signature"]

_ED25519 = b"\x01"  # the signed-note signature type byte for Ed25519


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4]


@dataclass(frozen=True)
class SigningKey:
    name: str
    private: Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def load_or_create(cls, path: Path, name: str) -> SigningKey:
        """The key in ``path`` (raw 32-byte seed), created with mode 0600 on first use."""
        if not name or any(c.isspace() or c == "+" for c in name):
            raise ValueError("a signed-note key name has no spaces or '+'")
        if path.exists():
            seed = path.read_bytes()
            return cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(seed)
        return cls(name, private)

    def sign_line(self, body: str) -> str:
        signature = self.private.sign(body.encode())
        blob = base64.b64encode(key_hash(self.name, self.public_bytes) + signature).decode()
        return f"— {self.name} {blob}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    signatures: tuple[str, ...]  # raw signature lines

    @property
    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def text(self) -> str:
        return self.body + "\n" + "".join(self.signatures)

    @classmethod
    def signed(cls, origin: str, size: int, root: bytes, key: SigningKey) -> Checkpoint:
        draft = cls(origin, size, root, ())
        return cls(origin, size, root, (key.sign_line(draft.body),))



def parse_checkpoint(text: str) -> Checkpoint:
    try:
        body, signatures = text.split("\n\n", 1)
        origin, size, root = body.split("\n")
        return Checkpoint(
            origin,
            int(size),
            base64.b64decode(root, validate=True),
            tuple(line + "\n" for line in signatures.splitlines() if line),
        )
    except ValueError as exc:
        raise ValueError(f"not a signed checkpoint note: {exc}") from exc


def verify_signature(checkpoint: Checkpoint, name: str, public: bytes) -> bool:
    """Whether ``checkpoint`` carries a valid signature by the named Ed25519 key."""
    wanted = key_hash(name, public)
    verifier = Ed25519PublicKey.from_public_bytes(public)
    for line in checkpoint.signatures:
        parts = line.strip().split(" ")
        if len(parts) != 3 or parts[0] != "—" or parts[1] != name:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            return False
        if blob[:4] != wanted:
            continue
        try:
            verifier.verify(blob[4:], checkpoint.body.encode())
            return True
        except InvalidSignature:
            return False
    return False
