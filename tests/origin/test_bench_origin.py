"""Smoke test of the origin benchmark (``python -m benchmarks --extra origin``): it runs and
renders with tiny sizes. Its figures are never asserted: benchmarks are not timed tests."""

from __future__ import annotations

from benchmarks import origin


def test_the_origin_benchmark_runs_and_renders() -> None:
    data = origin.run(
        quick=True, log=lambda _: None, sizes=(2_000, 500), rounds=1, per_round=200, memo_fill=64
    )
    assert data["records"] > 0
    assert data["ranges"] >= 2_500
    assert data["source"].startswith("synthetic")
    text = "\n".join(origin.markdown(data))
    assert "`origin_for`, new client" in text
    assert "Not measured" in "\n".join(origin.markdown({"skipped": "x"}))
