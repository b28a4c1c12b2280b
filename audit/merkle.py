"""RFC 6962 Merkle tree hashing, inclusion proofs and consistency proofs.

A hash chain lets whoever holds the log rewrite its tail and re-chain; a Merkle tree whose signed
heads are held by others (witnesses) cannot be rewritten without a head that contradicts one they
already hold. The hashing follows RFC 6962 exactly (0x00 leaf prefix, 0x01 node prefix, split at the
largest power of two below n), so any standard transparency-log verifier can check our proofs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "CompactRange",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly less than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash over leaf *hashes*."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root_hash(leaves[:k]), root_hash(leaves[k:]))


class CompactRange:
    """The roots of the perfect subtrees along a growing tree's right edge.

    Enough to know the root of the whole tree at every size without keeping or re-reading the
    leaves: a writer that signs checkpoints often pays O(log n) per leaf and per root, not O(n).
    """

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[tuple[int, bytes]] = []  # (leaves under it, hash), largest first

    def append(self, leaf: bytes) -> None:
        self.size += 1
        self._peaks.append((1, leaf))
        while len(self._peaks) >= 2 and self._peaks[-1][0] == self._peaks[-2][0]:
            (width, right), (_, left) = self._peaks.pop(), self._peaks.pop()
            self._peaks.append((2 * width, node_hash(left, right)))

    def root(self) -> bytes:
        """RFC 6962's Merkle Tree Hash: the peaks folded from the right, as the split rule does."""
        if not self._peaks:
            return hashlib.sha256(b"").digest()
        result = self._peaks[-1][1]
        for _, peak in reversed(self._peaks[:-1]):
            result = node_hash(peak, result)
        return result


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(leaves[:k], index), root_hash(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), root_hash(leaves[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            result = node_hash(sibling, result)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result == root


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """Proof that the first ``old_size`` leaves are a prefix of ``leaves`` (RFC 6962 2.1.2)."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ValueError(f"cannot prove size {old_size} against a tree of {n}")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root_hash(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root_hash(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root_hash(leaves[:k])]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    if old_size == new_size:
        return old_root == new_root and not proof
    if not 0 < old_size < new_size:
        return False
    nodes = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node
        nodes = [old_root, *nodes]
    if not nodes:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
