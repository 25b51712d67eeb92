"""Store operations: what stateful layers ask of the store, as small frozen records.

A layer's `check` is a generator that yields an op and receives its result, in the manner of
httpx's ``Auth.auth_flow``. The store runs the op; the layer never sees a connection, so every layer
is written once for sync and async callers alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

__all__ = ["Add", "Bucket", "BucketState", "Op", "Take"]

R = TypeVar("R", covariant=True)


class Op(Generic[R]):
    """Base of every store operation; `R` is the type of its result."""

    __slots__ = ()


class Bucket(NamedTuple):
    """One GCRA token bucket to charge.

    :param key: the store key (already namespaced and encoded by the layer).
    :param interval_us: the emission interval: microseconds to earn back one unit.
    :param capacity: the largest cost accepted at once from a full bucket (the burst).
    :param cost: units this request takes.
    """

    key: str
    interval_us: int
    capacity: int
    cost: int = 1


class BucketState(NamedTuple):
    """A bucket after a decision.

    :param allowed: the request conforms (and, in a `Take`, every bucket was charged).
    :param limit: the bucket's capacity.
    :param remaining: whole units left now.
    :param retry_after: seconds until this request's cost would conform (0 when allowed).
    :param reset_after: seconds until the bucket is full again.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: float
    reset_after: float


@dataclass(frozen=True, slots=True)
class Take(Op[tuple[BucketState, ...]]):
    """Charge several buckets atomically: all of them, or none when any one rejects."""

    buckets: tuple[Bucket, ...]


@dataclass(frozen=True, slots=True)
class Add(Op[bool]):
    """Record `key` for `ttl` seconds unless it is already there; True when it was new.

    Single-use ids (spent challenges) and bans use it.
    """

    key: str
    ttl: float
