"""The corpus evaluation as assertions: browsers are never denied, automation is scored."""

from __future__ import annotations

import pytest

from .evaluate import GOAL_CLASSES, REPORT, evaluate, load, report


@pytest.fixture(scope="module")
def outcomes():  # type: ignore[no-untyped-def]
    return evaluate(load())


def test_corpus_is_labelled_and_sourced() -> None:
    rows = load()
    classes = {r.cls for r in rows}
    assert {"browser", "library", "automation", "ai-crawler"} <= classes
    assert all(r.provenance for r in rows)
    assert sum(r.provenance.startswith("captured") for r in rows) >= 20


def test_no_browser_head_is_denied(outcomes) -> None:
    denied = [o.row.id for o in outcomes if o.row.cls == "browser" and o.denied]
    assert denied == []


def test_no_browser_head_is_denied_under_wsgi() -> None:
    denied = [
        o.row.id for o in evaluate(load(order_known=False)) if o.row.cls == "browser" and o.denied
    ]
    assert denied == []


def test_at_most_one_browser_head_in_fifty_is_challenged(outcomes) -> None:
    browsers = [o for o in outcomes if o.row.cls == "browser"]
    challenged = [o.row.id for o in browsers if o.challenged]
    assert len(challenged) * 50 <= len(browsers), challenged


def test_library_and_automation_heads_are_scored_as_automation(outcomes) -> None:
    goal = [o for o in outcomes if o.row.cls in GOAL_CLASSES]
    missed = [o.row.id for o in goal if not o.automation]
    assert len(goal) >= 40
    assert (len(goal) - len(missed)) * 100 >= 95 * len(goal), missed


def test_never_collateral_classes_are_never_challenged(outcomes) -> None:
    hit = [
        o.row.id
        for o in outcomes
        if o.row.cls in ("preview", "feed", "search-crawler") and (o.challenged or o.denied)
    ]
    assert hit == []


def test_committed_report_is_current() -> None:
    assert REPORT.read_text() == report(), "run: python tests/fingerprint/evaluate.py"
