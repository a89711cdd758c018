"""RFC 9162 hashing and proofs against the Certificate Transparency test vectors.

The vectors (leaves, roots of trees of 1-8 leaves, inclusion and consistency proofs) are those
published with the CT reference implementations; indices below are 0-based.
"""

from __future__ import annotations

import pytest

from nexo.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    LeafHashes,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
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
INCLUSION = [  # (leaf index, tree size, audit path)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (0, 1, []),
]
CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

TREE = LeafHashes(leaf_hash(d) for d in LEAVES)


def test_roots_match_the_reference_for_every_size() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert TREE.root(0) == EMPTY_ROOT
    frontier = Frontier()
    for n in range(1, 9):
        frontier.append(TREE[n - 1])
        assert TREE.root(n).hex() == ROOTS[n - 1]
        assert frontier.root().hex() == ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_reference(index: int, size: int, path: list[str]) -> None:
    assert [h.hex() for h in TREE.inclusion_proof(index, size)] == path
    root = bytes.fromhex(ROOTS[size - 1])
    proof = [bytes.fromhex(h) for h in path]
    assert verify_inclusion(index, size, TREE[index], proof, root)
    other = TREE[(index + 1) % 8]
    assert not verify_inclusion(index, size, other, proof, root)
    assert not verify_inclusion(index + 1, size, TREE[index], proof, root) or size == 1
    if proof:
        assert not verify_inclusion(index, size, TREE[index], proof[:-1], root)
        assert not verify_inclusion(index, size, TREE[index], [*proof, proof[0]], root)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_reference(first: int, second: int, path: list[str]) -> None:
    assert [h.hex() for h in TREE.consistency_proof(first, second)] == path
    r1, r2 = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    proof = [bytes.fromhex(h) for h in path]
    assert verify_consistency(first, second, r1, r2, proof)
    wrong = bytes.fromhex(ROOTS[(second) % 8])
    assert not verify_consistency(first, second, r1, wrong, proof)
    if proof:
        assert not verify_consistency(first, second, r1, r2, proof[1:])


def test_every_proof_of_larger_trees_verifies() -> None:
    leaves = LeafHashes(leaf_hash(i.to_bytes(4, "big")) for i in range(300))
    for size in (1, 2, 3, 7, 31, 64, 65, 255, 256, 257, 300):
        root = leaves.root(size)
        for index in {0, size // 2, size - 1}:
            assert verify_inclusion(
                index, size, leaves[index], leaves.inclusion_proof(index, size), root
            )
        for first in {1, size // 3 or 1, size}:
            proof = leaves.consistency_proof(first, size)
            assert verify_consistency(first, size, leaves.root(first), root, proof)
