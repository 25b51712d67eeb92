"""The preset question, measured: does the hosting signal challenge any person more often?

Scores every head of the fingerprint corpus (``tests/fingerprint/corpus/``) with the default
`Fingerprint` layer, first without origin, then with an origin lookup that places every client
in one kind of network:

- ``home``: an access network (category ``isp``), where people browse from;
- ``hosting``: a cloud network (AS16509, category ``hosting``): a cloud VM, or a person behind a
  VPN or a corporate proxy that egresses from one (the worst case for people);
- ``own AS``: crawlers in their operator's own AS (the first AS of the shipped bot list).

"Challenged" is what the default chain does: ProofOfWork(min_score=6) challenges any request
whose score reaches 6. Run ``python -m tests.origin.evaluate_origin`` to print the table that
docs/origin.md quotes; test_preset.py asserts the rule.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterator
from dataclasses import dataclass

from shieldware import Action
from shieldware.clientip import Client
from shieldware.fingerprint.goodbots import bot_asns
from shieldware.layer import Progress
from shieldware.layers import Fingerprint
from shieldware.origin import Origin

from ..fingerprint.evaluate import Row, layer, load

CHALLENGE_AT = 6.0  # presets.POW_MIN_SCORE
HOME = Origin(64496, "Example Broadband", "isp", "FR")
HOSTING = Origin(16509, "Amazon.com, Inc.", "hosting", "US")
SCENARIOS = ("no origin", "home", "hosting", "own AS")


class Everyone:
    """An origin lookup that puts every client in one network."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin

    def origin_for(self, client: Client) -> Origin:
        return self.origin


@dataclass(frozen=True)
class Scored:
    row: Row
    scenario: str
    score: float
    action: Action
    signals: tuple[str, ...]

    @property
    def challenged(self) -> bool:
        return self.action is Action.DENY or (
            self.action is Action.PASS and self.score >= CHALLENGE_AT
        )


@functools.cache
def _layer(origin: Origin | None) -> Fingerprint:
    base = layer()  # the evaluation's layer: offline DNS, so reverse-DNS claims stay pending
    if origin is None:
        return base
    return Fingerprint(verifier=base.verifier, origin=Everyone(origin))


def _own(row: Row, fp: Fingerprint, table: dict[str, frozenset[int]]) -> Origin | None:
    bot = fp.verifier.claimed(row.facts.user_agent) if fp.verifier is not None else None
    if bot is None or bot.name not in table:
        return None
    return Origin(min(table[bot.name]), bot.name, "unknown")


def score_all(order_known: bool = True) -> list[Scored]:
    rows = load(order_known)
    table, _ = bot_asns()
    out = []
    for scenario in SCENARIOS:
        if scenario == "own AS":
            probe = _layer(None)
            fps = {row.id: _own(row, probe, table) for row in rows}
        for row in rows:
            if scenario == "own AS":
                origin = fps[row.id]
                if origin is None:
                    continue  # only crawlers that name a bot with a known AS
                fp = _layer(origin)
            else:
                fp = _layer({"no origin": None, "home": HOME, "hosting": HOSTING}[scenario])
            v = fp.check(row.facts, Progress())
            signals = tuple(s[0] for s in v.detail.get("signals", ()))
            out.append(
                Scored(row, scenario, float(v.detail.get("score", v.weight)), v.action, signals)
            )
    return out


def table(scored: list[Scored]) -> Iterator[str]:
    cells: dict[tuple[str, str], list[Scored]] = collections.defaultdict(list)
    for s in scored:
        cells[(s.row.cls, s.scenario)].append(s)
    classes = sorted({s.row.cls for s in scored})
    yield "| Class | Heads | " + " | ".join(f"challenged, {name}" for name in SCENARIOS) + " |"
    yield "|---|---:|" + "---:|" * len(SCENARIOS)
    for cls in classes:
        n = len(cells[(cls, "no origin")])
        parts = []
        for name in SCENARIOS:
            items = cells.get((cls, name), [])
            parts.append(f"{sum(s.challenged for s in items)} of {len(items)}" if items else "-")
        yield f"| {cls} | {n} | " + " | ".join(parts) + " |"


def browser_margin(scored: list[Scored]) -> float:
    """How far the highest-scoring browser head from a hosting network is below the threshold."""
    worst = max(s.score for s in scored if s.row.cls == "browser" and s.scenario == "hosting")
    return CHALLENGE_AT - worst


if __name__ == "__main__":
    everything = score_all()
    print("\n".join(table(everything)))
    worst = CHALLENGE_AT - browser_margin(everything)
    print(f"\nhighest browser score from a hosting network: {worst:g}")
