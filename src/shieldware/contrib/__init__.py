"""Framework integrations: Django, Flask and FastAPI/Starlette.

Each integration only translates: a framework request becomes `Facts` through the core's
constructors, and the `Gate`'s entry (a reply, or headers to add and after-ops to run) becomes the
framework's response. This module holds the one thing they share on top of the gate: building a
per-view shield from layers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TypeAlias

from ..gate import Gate
from ..layer import Layer
from ..policy import Mode, Shield

__all__ = ["ProtectTarget", "Protection"]

#: What the per-view forms accept: a ready `Shield`, one layer, or several layers.
ProtectTarget: TypeAlias = Shield | Layer | Iterable[Layer]


class Protection:
    """The shield of one view or route, built once on first use.

    Given a `Shield`, that shield is used as it is. Given layers, a small `Shield` is built around
    them that borrows the app shield's store, trusted proxies and mode (so a per-view limit lives
    in the same Redis as the app-wide one, and sees the same client addresses). The app shield is
    looked up lazily because frameworks configure it after views are decorated.

    :param target: a `Shield`, a layer, or an iterable of layers.
    :param base: returns the app-wide shield, or None when there is none.
    :param mode: overrides the mode (``"shadow"`` to try a view's limit without enforcing it).
    """

    def __init__(
        self,
        target: ProtectTarget,
        *,
        base: Callable[[], Shield | None] | None = None,
        mode: Mode | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._base = base
        self._mode = mode
        self._shield: Shield | None = None
        self._gate: Gate | None = None
        self._layers: tuple[Layer, ...] = ()
        if isinstance(target, Shield):
            self._shield = target
        elif isinstance(target, Layer):
            self._layers = (target,)
        else:
            self._layers = tuple(target)
        if self._shield is None:
            # Validate now, at import time, rather than on the first request.
            Shield(self._layers)

    def __repr__(self) -> str:
        if self._shield is not None:
            return f"Protection({self._shield!r})"
        return f"Protection([{', '.join(layer.name for layer in self._layers)}])"

    @property
    def shield(self) -> Shield:
        """The shield to decide with (built on first access)."""
        shield = self._shield
        if shield is None:
            with self._lock:
                if self._shield is None:
                    self._shield = self._build()
                shield = self._shield
        return shield

    @property
    def gate(self) -> Gate:
        """The gate running the lifecycle over `shield` (built on first access)."""
        gate = self._gate
        if gate is None:  # a race only builds a second gate over the same shield
            gate = self._gate = Gate(self.shield)
        return gate

    def _build(self) -> Shield:
        base = self._base() if self._base is not None else None
        if base is None:
            return Shield(self._layers, mode=self._mode or "enforce")
        return Shield(
            self._layers,
            store=base.store,
            trusted_proxies=base.proxies,
            mode=self._mode or base.mode,
            reporters=base.reporters,
            on_store_error=base.on_store_error,
        )
