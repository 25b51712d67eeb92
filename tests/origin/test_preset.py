"""The preset choice: the default chain gains the hosting signal only with an origin database,
and on the corpus no person is challenged more often for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldware import Action, Shield
from shieldware.layers import Fingerprint
from shieldware.origin import OriginDB
from shieldware.secret import generate_secret

from ..fingerprint.helpers import CHROME_NAV, facts, replace
from .evaluate_origin import Scored, browser_margin, score_all
from .helpers import compact_db


@pytest.fixture(scope="module")
def scored() -> list[Scored]:
    return score_all()


def _count(scored: list[Scored], cls: str, scenario: str) -> int:
    return sum(s.challenged for s in scored if s.row.cls == cls and s.scenario == scenario)


def test_no_browser_head_is_challenged_more_often_from_a_hosting_network(
    scored: list[Scored],
) -> None:
    browsers = [s for s in scored if s.row.cls == "browser"]
    assert len(browsers) == 3 * 146  # no origin, home, hosting
    assert _count(scored, "browser", "hosting") == _count(scored, "browser", "no origin") == 0
    assert _count(scored, "browser", "home") == 0
    assert browser_margin(scored) >= 2.0  # the worst browser head from a cloud stays at 4 or less


def test_the_hosting_signal_moves_impersonators_and_the_wrong_asn_moves_spoofed_crawlers(
    scored: list[Scored],
) -> None:
    assert _count(scored, "automation", "hosting") > _count(scored, "automation", "no origin")
    assert _count(scored, "search-crawler", "own AS") == 0  # real crawlers in their own AS
    assert _count(scored, "search-crawler", "hosting") >= 4  # a search crawler's name from AWS
    assert _count(scored, "library", "hosting") == _count(scored, "library", "no origin")


def test_the_preset_takes_origin_only_when_given(tmp_path: Path) -> None:
    secret = generate_secret()
    plain = Shield.default(secret)
    fp = next(layer for layer in plain.layers if isinstance(layer, Fingerprint))
    assert fp.origin is None
    origins = OriginDB(compact_db(tmp_path), check_every=None)
    shield = Shield.default(secret, origins=origins)
    fp = next(layer for layer in shield.layers if isinstance(layer, Fingerprint))
    assert fp.origin is origins
    # a clean browser head from a cloud is not challenged; one inconsistency more is
    clean = shield.decide(facts(CHROME_NAV, ip="3.1.1.1"))
    assert clean.action is Action.ALLOW
    assert clean.score == 4.0 - 1.0  # origin-hosting-browser, upgrade-insecure-requests
    no_hints = replace(CHROME_NAV, sec_ch_ua=None, sec_ch_ua_mobile=None, sec_ch_ua_platform=None)
    assert shield.decide(facts(no_hints, ip="81.0.0.1")).action is Action.ALLOW  # at home
    assert shield.decide(facts(no_hints, ip="3.1.1.1")).action is Action.CHALLENGE  # from a VM
