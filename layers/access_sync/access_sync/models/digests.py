"""Fixed-size stand-ins for ids in large in-memory indexes.

An index of 100,000 accounts keyed by their ids holds 100,000 strings of 60 to 100 bytes each; keyed by an
8-byte digest it holds 8 bytes each. Two different ids share a digest with a chance of about n² / 2⁶⁵ (one in
10⁹ for 200,000 ids), which is as unique as the 16-hex-digit ids the project already uses.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right


def digest64(text: str) -> int:
    """A 64-bit digest of `text`: Python's own string hash (SipHash, keyed at random per process), computed in C
    and several times faster than a hashlib digest. It differs from process to process, so it must never be
    stored or sent anywhere: these indexes live and die in one process."""
    return hash(text)


class DigestIndex:
    """Many (digest, number) pairs, looked up by digest: two sorted arrays, 12 bytes a pair, where a dict of
    ints would take about 100. Add every pair, then `freeze()` once; a digest may have several numbers."""

    def __init__(self) -> None:
        self._digests = array("q")
        self._numbers = array("I")
        self._frozen = False

    def add(self, digest: int, number: int) -> None:
        if self._frozen:
            raise RuntimeError("a frozen DigestIndex takes no more pairs")
        self._digests.append(digest)
        self._numbers.append(number)

    def freeze(self) -> None:
        """Sorts the pairs by digest; pairs with equal digests keep the order they were added in."""
        order = sorted(range(len(self._digests)), key=self._digests.__getitem__)
        self._digests = array("q", (self._digests[i] for i in order))
        self._numbers = array("I", (self._numbers[i] for i in order))
        self._frozen = True

    def numbers(self, digest: int) -> list[int]:
        """The numbers added with `digest`, in the order they were added."""
        if not self._frozen:
            raise RuntimeError("freeze() a DigestIndex before looking digests up")
        at = bisect_left(self._digests, digest)
        return self._numbers[at : bisect_right(self._digests, digest, at)].tolist()

    def __len__(self) -> int:
        return len(self._digests)
