"""The store protocol: one method per flavour, the only sync/async twin in shieldware.

A store runs `Op` records. Sync adapters (WSGI, Django under WSGI) call `run`; async adapters call
`arun` (a store whose ops never wait may set ``runs_inline = True``, and async drivers then call
`run` directly, with no coroutine per op). A store owns its clock (so buckets shared by many
hosts agree on time).

Errors say whose fault they are. `StoreError` means the store could not answer (I/O: a timeout,
a refused connection, a reply it cannot read), and the chain's failure policy applies;
`StoreOverloaded`, its subclass, means the store is up but busy, and the request is shed. An op
the store does not run is a bug in the layer that sent it: `TypeError`, never a `StoreError`, so it
cannot be mistaken for an outage and answered "open". Stores say which ops they run in
``supports``, and `require_ops` checks a layer's needs against it once, at construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

from ..errors import ConfigurationError
from ..ops import Op

__all__ = ["Store", "require_ops", "unknown_op"]

R = TypeVar("R")


@runtime_checkable
class Store(Protocol):
    """Anything that can run shieldware's ops, synchronously and asynchronously."""

    #: True when several processes or hosts see the same state (Redis); False for memory.
    shared: bool

    @property
    def supports(self) -> frozenset[type[Op[Any]]]:
        """The op types `run` and `arun` accept; any other raises `TypeError`."""
        ...

    def run(self, op: Op[R]) -> R:
        """Run `op` and return its result; raise `StoreError` when the store cannot answer."""
        ...

    async def arun(self, op: Op[R]) -> R:
        """Run `op` without blocking the event loop; raise `StoreError` as `run` does."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...


def require_ops(store: Store, ops: Iterable[type[Op[Any]]], owner: str) -> None:
    """Raise `ConfigurationError` unless `store` runs every op type in `ops` that `owner` sends.

    Called once when a policy is built, so a layer paired with a store that cannot serve it
    fails at startup rather than on its first request.
    """
    needed = frozenset(ops)
    if not needed:
        return
    supported = getattr(store, "supports", None)
    if supported is None:
        raise ConfigurationError(
            f"{owner} needs a store that declares the ops it runs ('supports'); {store!r} does not"
        )
    missing = sorted({op.__name__ for op in needed if op not in supported})
    if missing:
        raise ConfigurationError(
            f"{owner} needs {', '.join(missing)}, which {store!r} does not run"
        )


def unknown_op(store: object, op: object) -> TypeError:
    """The error for an op `store` does not run: a bug in whoever sent it, not an outage."""
    return TypeError(
        f"{type(store).__name__} does not run {type(op).__name__} ops (not in its 'supports')"
    )
