"""The store protocol: one method per flavour, the only sync/async twin in shieldware.

A store runs `Op` records. Sync adapters (WSGI, Django under WSGI) call `run`; async adapters call
`arun` (a store whose ops never wait may set ``runs_inline = True``, and async drivers then call
`run` directly, with no coroutine per op). A store owns its clock (so buckets shared by many
hosts agree on time) and raises only `StoreError`.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

from ..ops import Op

__all__ = ["Store"]

R = TypeVar("R")


@runtime_checkable
class Store(Protocol):
    """Anything that can run shieldware's ops, synchronously and asynchronously."""

    #: True when several processes or hosts see the same state (Redis); False for memory.
    shared: bool

    def run(self, op: Op[R]) -> R:
        """Run `op` and return its result; raise `StoreError` on failure."""
        ...

    async def arun(self, op: Op[R]) -> R:
        """Run `op` without blocking the event loop; raise `StoreError` on failure."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...
