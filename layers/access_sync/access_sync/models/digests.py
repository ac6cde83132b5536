"""Fixed-size stand-ins for ids in large in-memory indexes.

An index of 100,000 accounts keyed by their ids holds 100,000 strings of 60 to 100 bytes each; keyed by an
8-byte digest it holds 8 bytes each. Two different ids share a digest with a chance of about n² / 2⁶⁵ (one in
10⁹ for 200,000 ids), which is as unique as the 16-hex-digit ids the project already uses.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left, bisect_right
from operator import itemgetter

_UNSIGNED = (1 << 64) - 1
# Pairs are sorted this many at a time, then merged: sorting them all at once would hold a Python int for every
# pair (tens of megabytes for 600,000 pairs) while it runs.
SORT_CHUNK = 1 << 16


def digest64(text: str) -> int:
    """A 64-bit digest of `text`: Python's own string hash (SipHash, keyed at random per process), computed in C
    and several times faster than a hashlib digest. It differs from process to process, so it must never be
    stored or sent anywhere: these indexes live and die in one process."""
    return hash(text) & _UNSIGNED


class DigestIndex:
    """Many (digest, number) pairs, looked up by digest: two sorted arrays, 12 bytes a pair, where a dict of
    ints would take about 100. Digests are any 64-bit unsigned ints, numbers 32-bit unsigned ones. Add every
    pair, then `freeze()` once; a digest may have several numbers."""

    def __init__(self) -> None:
        self._digests = array("Q")
        self._numbers = array("I")
        self._frozen = False

    def add(self, digest: int, number: int) -> None:
        if self._frozen:
            raise RuntimeError("a frozen DigestIndex takes no more pairs")
        self._digests.append(digest)
        self._numbers.append(number)

    def freeze(self) -> None:
        """Sorts the pairs by digest; pairs with equal digests keep the order they were added in."""
        digests, numbers = self._digests, self._numbers
        runs = []
        for start in range(0, len(digests), SORT_CHUNK):
            order = sorted(range(start, min(start + SORT_CHUNK, len(digests))), key=digests.__getitem__)
            runs.append((array("Q", (digests[i] for i in order)), array("I", (numbers[i] for i in order))))
        del digests, numbers
        self._digests, self._numbers = array("Q"), array("I")
        # heapq.merge takes equal keys from earlier runs first, so equal digests stay in the order added.
        for digest, number in heapq.merge(*(zip(*run, strict=True) for run in runs), key=itemgetter(0)):
            self._digests.append(digest)
            self._numbers.append(number)
        self._frozen = True

    def numbers(self, digest: int) -> list[int]:
        """The numbers added with `digest`, in the order they were added."""
        if not self._frozen:
            raise RuntimeError("freeze() a DigestIndex before looking digests up")
        at = bisect_left(self._digests, digest)
        return self._numbers[at : bisect_right(self._digests, digest, at)].tolist()

    def __len__(self) -> int:
        return len(self._digests)
