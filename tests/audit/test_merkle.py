"""RFC 6962 published test vectors, and proofs checked across many tree shapes."""

import hashlib

from audit.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# The Certificate Transparency reference leaves and tree heads (RFC 6962 test vectors).
DATA = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
LEAVES = [leaf_hash(bytes.fromhex(d)) for d in DATA]


def test_published_tree_heads() -> None:
    assert root_hash([]) == hashlib.sha256(b"").digest()
    for n in range(1, 9):
        assert root_hash(LEAVES[:n]).hex() == ROOTS[n - 1]


def test_published_inclusion_proofs() -> None:
    for (index, size), proof in INCLUSION.items():
        assert [p.hex() for p in inclusion_proof(LEAVES[:size], index)] == proof
        assert verify_inclusion(
            LEAVES[index],
            index,
            size,
            [bytes.fromhex(p) for p in proof],
            bytes.fromhex(ROOTS[size - 1]),
        )


def test_every_inclusion_and_consistency_proof_verifies_and_tampering_fails() -> None:
    leaves = [leaf_hash(bytes([i, i * 7 % 256])) for i in range(37)]
    for n in range(1, len(leaves) + 1):
        root = root_hash(leaves[:n])
        for i in range(n):
            proof = inclusion_proof(leaves[:n], i)
            assert verify_inclusion(leaves[i], i, n, proof, root)
            assert not verify_inclusion(leaves[(i + 1) % n], i, n, proof, root) or n == 1
        for m in range(1, n + 1):
            proof = consistency_proof(leaves[:n], m)
            old = root_hash(leaves[:m])
            assert verify_consistency(m, n, old, root, proof), (m, n)
            if m < n:
                forged = root_hash([*leaves[: m - 1], leaf_hash(b"forged")])
                assert not verify_consistency(m, n, forged, root, proof)


# Consistency proofs published with the Certificate Transparency reference tree (RFC 6962 §2.1.2).
CONSISTENCY = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def test_published_consistency_proofs() -> None:
    for (old, new), proof in CONSISTENCY.items():
        assert [p.hex() for p in consistency_proof(LEAVES[:new], old)] == proof, (old, new)
        assert verify_consistency(old, new, bytes.fromhex(ROOTS[old - 1]),
                                  bytes.fromhex(ROOTS[new - 1]), [bytes.fromhex(p) for p in proof])


def test_consistency_refuses_every_altered_proof_size_and_history() -> None:
    """A witness relies on verify_consistency saying no: to a changed or reordered proof node, a
    proof cut short or padded, the sizes swapped or shifted, and an old tree that is not a prefix
    of the new one (history rewritten anywhere before the old size)."""
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
    junk = hashlib.sha256(b"junk").digest()
    for new in (2, 3, 7, 8, 9, 16, 17, 31, 33, 64, 70):
        root = root_hash(leaves[:new])
        for old in range(1, new):
            proof = consistency_proof(leaves[:new], old)
            old_root = root_hash(leaves[:old])
            assert verify_consistency(old, new, old_root, root, proof)
            for i in range(len(proof)):
                altered = [*proof[:i], junk, *proof[i + 1:]]
                assert not verify_consistency(old, new, old_root, root, altered), (old, new, i)
            if len(proof) > 1:
                assert not verify_consistency(old, new, old_root, root, proof[::-1])
            assert not verify_consistency(old, new, old_root, root, proof[:-1])
            assert not verify_consistency(old, new, old_root, root, [*proof, junk])
            assert not verify_consistency(new, old, root, old_root, proof)
            if old + 1 < new:
                assert not verify_consistency(old + 1, new, old_root, root, proof)
            for changed in {0, old // 2, old - 1}:
                rewritten = [*leaves[:changed], junk, *leaves[changed + 1:new]]
                fork_root = root_hash(rewritten)
                assert not verify_consistency(old, new, old_root, fork_root,
                                              consistency_proof(rewritten, old))
    assert not verify_consistency(0, 5, root_hash([]), root_hash(leaves[:5]), [])
    assert not verify_consistency(3, 3, root_hash(leaves[:3]), root_hash(leaves[:3]), [junk])
