"""Fixed-size stand-ins for ids in large in-memory indexes.

An index of 100,000 accounts keyed by their ids holds 100,000 strings of 60 to 100 bytes each; keyed by an
8-byte digest it holds one small int each. Two different ids share a digest with a chance of about n² / 2⁶⁵
(one in 10⁹ for 200,000 ids), which is as unique as the 16-hex-digit ids the project already uses.
"""

from __future__ import annotations

import hashlib


def digest64(text: str) -> int:
    """The first 8 bytes of BLAKE2b of `text` (UTF-8), as an int: the same in every process and run."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
