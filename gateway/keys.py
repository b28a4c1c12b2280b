"""Token-signing keys for the embedded authorization server: ES256, rotated with an overlap.

The active key signs; the previous keys stay in the JWKS until every token they signed has expired,
so a rotation never logs anybody out. Private keys are files with mode 0600.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

__all__ = ["KeyStore", "SigningKey"]

KEEP_PREVIOUS = 2


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: bytes
    created: float

    def public_jwk(self) -> dict[str, Any]:
        private = serialization.load_pem_private_key(self.private_pem, password=None)
        jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))  # type: ignore[arg-type]  # the PEM is always an EC key (KeyStore writes only ES256 keys)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}


class KeyStore:
    """Keys are files, so a rotation by ``kinlink keys rotate`` in another process is seen here.

    Parsing keys costs more than checking a token's signature, so the published set is cached
    and re-read only when the directory changes (a rotation creates and deletes files, which
    changes the directory's modification time).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: tuple[int, list[SigningKey], dict[str, Any]] | None = None

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob("*.pem"), key=lambda p: p.stat().st_mtime)

    def _load(self, path: Path) -> SigningKey:
        return SigningKey(path.stem, path.read_bytes(), path.stat().st_mtime)

    def _cached(self) -> tuple[list[SigningKey], dict[str, Any]] | None:
        try:
            stamp = self.directory.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        if self._cache is None or self._cache[0] != stamp:
            keys = [self._load(p) for p in self._files()[-(KEEP_PREVIOUS + 1):]]
            if not keys:
                return None
            self._cache = (stamp, keys, {"keys": [k.public_jwk() for k in keys]})
        return self._cache[1], self._cache[2]

    def active(self) -> SigningKey:
        cached = self._cached()
        return cached[0][-1] if cached else self.rotate()

    def published(self) -> list[SigningKey]:
        cached = self._cached()
        return list(cached[0]) if cached else []

    def jwks(self) -> dict[str, Any]:
        cached = self._cached()
        return cached[1] if cached else {"keys": []}

    def rotate(self) -> SigningKey:
        self.directory.mkdir(parents=True, exist_ok=True)
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        kid = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        path = self.directory / f"{kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        # Order by creation even when two rotations land in the same second.
        stamp = time.time() + len(self._files()) * 1e-3
        os.utime(path, (stamp, stamp))
        for old in self._files()[: -(KEEP_PREVIOUS + 1)]:
            old.unlink()
        return self._load(path)
