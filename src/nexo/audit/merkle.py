"""Merkle tree hashing, proofs and their verification, as RFC 9162 (section 2.1) defines them.

Leaves are hashed as ``SHA-256(0x00 || data)`` and interior nodes as ``SHA-256(0x01 || left ||
right)``; a tree of ``n`` leaves splits at the largest power of two below ``n``. Pure functions:
no I/O, checked against the Certificate Transparency test vectors in ``tests/audit``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class LeafHashes:
    """Leaf hashes in one compact buffer, with memoised hashes of complete aligned subtrees.

    The log is append-only, so a complete subtree never changes once all its leaves exist;
    proofs over a large log then cost O(log n) hashes after the first.
    """

    MEMO_MIN = 256

    def __init__(self, hashes: Iterable[bytes] = ()) -> None:
        self._buf = bytearray()
        self._memo: dict[tuple[int, int], bytes] = {}
        for h in hashes:
            self.append(h)

    def __len__(self) -> int:
        return len(self._buf) // HASH_SIZE

    def __getitem__(self, i: int) -> bytes:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return bytes(self._buf[i * HASH_SIZE : (i + 1) * HASH_SIZE])

    def append(self, h: bytes) -> None:
        if len(h) != HASH_SIZE:
            raise ValueError("a leaf hash has 32 bytes")
        self._buf += h

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves ``[start, end)``."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return self[start]
        perfect = n & (n - 1) == 0 and start % n == 0
        if perfect and n >= self.MEMO_MIN:
            memo = self._memo.get((start, n))
            if memo is not None:
                return memo
        k = split_point(n)
        h = node_hash(self.subtree(start, start + k), self.subtree(start + k, end))
        if perfect and n >= self.MEMO_MIN:
            self._memo[(start, n)] = h
        return h

    def root(self, size: int | None = None) -> bytes:
        size = len(self) if size is None else size
        self._check_size(size)
        return self.subtree(0, size)

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= len(self):
            raise ValueError(f"tree size {size} is beyond the {len(self)} leaves of the log")

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size])."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of size {size}")
        return self._path(index, 0, size)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = split_point(n)
        if m < k:
            return [*self._path(m, start, start + k), self.subtree(start + k, end)]
        return [*self._path(m - k, start + k, end), self.subtree(start, start + k)]

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """PROOF(first, D[second])."""
        self._check_size(second)
        if not 0 < first <= second:
            raise ValueError(f"no consistency proof from size {first} to {second}")
        if first == second:
            return []
        return self._subproof(first, 0, second, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self.subtree(start, end)]
        k = split_point(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete), self.subtree(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self.subtree(start, start + k)]


def root_of(hashes: Iterable[bytes]) -> bytes:
    return LeafHashes(hashes).root()


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if first < 1 or first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class Frontier:
    """The compact range of a growing tree: roots of its complete subtrees, left to right.

    Enough to compute the root after each append in O(log n) without keeping the leaves.
    """

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        self.size = size
        self.hashes = list(hashes or [])
        if len(self.hashes) != bin(size).count("1"):
            raise ValueError("a frontier holds one hash per set bit of the tree size")

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        self.size += 1
        n = self.size
        while n & 1 == 0:  # merge complete subtrees of equal size
            right = self.hashes.pop()
            left = self.hashes.pop()
            self.hashes.append(node_hash(left, right))
            n >>= 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = node_hash(h, r)
        return r
