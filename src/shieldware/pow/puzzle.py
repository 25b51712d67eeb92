"""The puzzle: SHA-256 hashcash split into `count` sub-puzzles, and a Python solver.

Sub-puzzle ``i`` of challenge ``cid`` is solved by a decimal nonce ``n`` (0 <= n < 2**32) such that
``SHA-256(f"{cid}.{i}.{n}")`` starts with `bits` zero bits. The input is at most 47 bytes, so
every try is one SHA-256 compression in any language. Expected work is ``count * 2**bits`` tries;
splitting it into smaller puzzles keeps solve times steady and gives the page a real progress bar.
Verifying costs `count` hashes.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence

__all__ = [
    "ALGORITHM",
    "MAX_BITS",
    "MAX_COUNT",
    "MAX_NONCE",
    "check",
    "expected_work",
    "parse_nonces",
    "puzzle_prefix",
    "solve",
    "solve_one",
]

ALGORITHM = "sha256"
#: Bounds a signed challenge may carry (they are checked when a layer is configured).
MAX_BITS = 32
MAX_COUNT = 64
MAX_NONCE = 2**32 - 1
_NONCE = "(?:0|[1-9][0-9]{0,9})"
_TEN_DIGITS = re.compile("[0-9]{10}")
_sha256 = hashlib.sha256


@functools.lru_cache(maxsize=MAX_COUNT)
def _nonces_regex(count: int) -> re.Pattern[str]:
    return re.compile(_NONCE + ("," + _NONCE) * (count - 1), re.ASCII)


def puzzle_prefix(cid: str, index: int) -> bytes:
    """The bytes hashed before the nonce for sub-puzzle `index`."""
    return f"{cid}.{index}.".encode("ascii")


def expected_work(count: int, bits: int) -> int:
    """Expected SHA-256 tries to solve `count` sub-puzzles of `bits` bits."""
    return count * (1 << bits)


def parse_nonces(text: str, count: int) -> tuple[str, ...] | None:
    """Strictly parse ``"n0,n1,..."`` (canonical decimals below 2**32); None when malformed."""
    if len(text) > count * 11 or not 1 <= count <= MAX_COUNT:
        return None
    if _nonces_regex(count).fullmatch(text) is None:
        return None
    parts = tuple(text.split(","))
    if _TEN_DIGITS.search(text) and any(len(p) == 10 and int(p) > MAX_NONCE for p in parts):
        return None
    return parts


def _bound(bits: int) -> bytes:
    """Digests below this (as big-endian bytes) start with `bits` zero bits."""
    return (1 << (256 - bits)).to_bytes(32, "big")


_BOUNDS = (b"", *(_bound(bits) for bits in range(1, MAX_BITS + 1)))  # 0 bits: unused


def check(cid: str, bits: int, nonces: Sequence[str]) -> bool:
    """True when every nonce solves its sub-puzzle (`count` = ``len(nonces)``)."""
    bound = _BOUNDS[bits]
    for index, nonce in enumerate(nonces):
        if _sha256(f"{cid}.{index}.{nonce}".encode("ascii")).digest() >= bound:
            return False
    return True


def solve_one(prefix: bytes, bits: int, start: int = 0) -> tuple[int, int]:
    """Find the first nonce >= `start` for one sub-puzzle; returns ``(nonce, tries)``.

    The whole message fits one SHA-256 block, so hashing it afresh beats copying a midstate.
    """
    bound = _BOUNDS[bits]
    template = prefix + b"%d"
    for nonce in range(start, MAX_NONCE + 1):
        if _sha256(template % nonce).digest() < bound:
            return nonce, nonce - start + 1
    raise RuntimeError("no nonce below 2**32 solves this puzzle")  # pragma: no cover


def solve(cid: str, count: int, bits: int) -> list[int]:
    """Solve every sub-puzzle of a challenge (the honest client's side)."""
    return [solve_one(puzzle_prefix(cid, index), bits)[0] for index in range(count)]
