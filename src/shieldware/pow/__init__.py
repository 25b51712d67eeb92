"""Proof of work: puzzle maths, signed challenges and clearances, the interstitial's text.

The layer that uses them is `shieldware.layers.ProofOfWork`; the client side is `shieldware.client`.
"""

from __future__ import annotations

from .page import PageText
from .puzzle import check, expected_work, parse_nonces, puzzle_prefix, solve, solve_one
from .redirect import safe_return
from .tokens import Challenge, Clearance, TokenKit, binding

__all__ = [
    "Challenge",
    "Clearance",
    "PageText",
    "TokenKit",
    "binding",
    "check",
    "expected_work",
    "parse_nonces",
    "puzzle_prefix",
    "safe_return",
    "solve",
    "solve_one",
]
