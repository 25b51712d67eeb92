"""Framework integrations: Django, Flask and FastAPI/Starlette.

Each integration only translates: a framework request becomes `Facts` through the core's
constructors, and the `Gate`'s entry (a reply, or headers to add and after-ops to run) becomes the
framework's response. This module holds what they share on top of the gate: building a per-view
shield from layers, and refusing per-view layers that would share store keys with different limits.

A layer given to a per-view protection is *mounted*: the protection decides with the layer's
``mounted()`` copy, whose keys also carry the route (`shieldware.keys.by_mount`). So
``Protect(TokenBucket("5/minute"))`` on ``/login`` never lands on the bucket of the app-wide
``TokenBucket`` of the same name, nor on the default-named bucket of another route. The objects
you pass are not changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

from ..errors import ConfigurationError
from ..gate import Gate
from ..keys import KeySpace
from ..layer import Layer, Shadowed, unwrap
from ..policy import Mode, Shield

__all__ = ["ProtectTarget", "Protection", "check_clashes", "mount", "stacked_on"]

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
            self._layers = (mount(target),)
        else:
            self._layers = tuple(mount(layer) for layer in target)
        if self._shield is None:
            # Validate now, at import time, rather than on the first request.
            Shield(self._layers)

    def __repr__(self) -> str:
        if self._shield is not None:
            return f"Protection({self._shield!r})"
        return f"Protection([{', '.join(layer.name for layer in self._layers)}])"

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers this protection decides with (the mounted copies, or the shield's)."""
        return self._shield.layers if self._shield is not None else self._layers

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


def mount(layer: Layer) -> Layer:
    """The copy of `layer` a per-view protection decides with: counted per route when the layer
    keeps state under keys (it has ``mounted()``); else the layer itself."""
    if isinstance(layer, Shadowed):
        return Shadowed(mount(layer.layer))
    copy: Callable[[], Layer] | None = getattr(layer, "mounted", None)
    return copy() if callable(copy) else layer


def _spaces(layer: Layer) -> tuple[tuple[KeySpace, object], ...]:
    inner: Any = unwrap(layer)
    spaces = getattr(inner, "key_spaces", None)
    return tuple(spaces()) if callable(spaces) else ()


def check_clashes(groups: Sequence[tuple[str, Iterable[Layer]]]) -> None:
    """Refuse layers of different groups that would write the same store keys with different
    limits (two rates on one bucket): `ConfigurationError` naming both.

    :param groups: ``(where, layers)`` pairs whose keys can meet (per-view protections of one
        route, say); ``where`` names the group in the message.
    """
    seen: dict[KeySpace, tuple[str, Layer, object]] = {}
    errors: list[str] = []
    for where, layers in groups:
        for layer in layers:
            for space, limit in _spaces(layer):
                first = seen.setdefault(space, (where, layer, limit))
                if first[2] != limit and first[1] is not layer:
                    errors.append(
                        f"{first[1]!r} ({first[0]}) and {layer!r} ({where}) would share the "
                        f"store keys of {space[0]} {space[1]!r}/{space[2]!r} with different "
                        f"limits; give one of them another name="
                    )
    if errors:
        raise ConfigurationError("; ".join(dict.fromkeys(errors)))


def stacked_on(view: object, protection: Protection) -> None:
    """Refuse a per-view decorator stacked on another whose layers would share store keys with
    different limits (the view's route is the same for both)."""
    inner = getattr(view, "shieldware", None)
    if isinstance(inner, Protection):
        name = getattr(view, "__qualname__", repr(view))
        check_clashes([(f"inner on {name}", inner.layers), (f"outer on {name}", protection.layers)])
