"""The under-attack switch: one move that tightens every worker at once, by hand or by itself.

- `Shield(..., attack=AttackProfile())` compiles a second chain beside the normal one;
  ``shield.under_attack(True, reason=..., until=...)`` turns it on for every worker sharing the
  store (`Switch`, `AttackState`); ``shieldware attack on|off|status`` and the live view's button
  do the same.
- `AttackMonitor` (a reporter) turns it on when a flood shows in the decisions, the request rate
  or the app's latency, and off after a calm period (`Trigger`).

See docs/under-attack.md.
"""

from __future__ import annotations

from typing import Any

from ..ops import GetText, Op, SetText
from .monitor import AttackMonitor, Trigger
from .profile import AttackGate, AttackProfile, is_navigation, tightened
from .state import (
    OFF,
    STATE_KEY,
    AttackEvent,
    AttackState,
    Switch,
    parse_until,
    read_state,
    write_state,
)

__all__ = [
    "OFF",
    "STATE_KEY",
    "AttackEvent",
    "AttackGate",
    "AttackMonitor",
    "AttackProfile",
    "AttackState",
    "Switch",
    "Trigger",
    "is_navigation",
    "parse_until",
    "read_state",
    "switch_ops",
    "tightened",
    "write_state",
]


def switch_ops() -> frozenset[type[Op[Any]]]:
    """The store ops the switch needs."""
    return frozenset({SetText, GetText})
