"""Small promises from docs/security.md and docs/deployment.md that no other test here pins down.

Each test names the sentence it keeps; docs/promises.md maps every promise to its test.
"""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from shieldware import (
    ConfigurationError,
    MemoryStore,
    Shield,
    ShieldMiddleware,
    ShieldWSGIMiddleware,
    shadowed,
)
from shieldware.facts import Facts
from shieldware.secret import resolve_secrets
from tests.conftest import NEW_SECRET, OLD_SECRET, SECRET

from .helpers import Captured, TakeLayer, asgi_hello, wsgi_hello


def test_header_values_are_cut_at_8_kib_and_at_most_200_lines_kept() -> None:
    """security.md: "Header values are cut at 8 KiB and at most 200 header lines are kept"."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"",
        "headers": [(b"x-junk", b"\xff" * 20_000)] * 500,
        "client": ("11.0.0.1", 1),
    }
    facts = Facts.from_scope(scope)
    assert len(facts.headers) == 200
    assert all(len(value) <= 8192 for _, value in facts.headers)


def test_no_silent_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """deployment.md: "There is no default: a missing or weak secret fails at start-up"."""
    monkeypatch.delenv("SHIELDWARE_SECRET", raising=False)
    with pytest.raises(ConfigurationError):
        resolve_secrets(None)
    with pytest.raises(ConfigurationError):
        resolve_secrets("too-short")
    with pytest.raises(ConfigurationError):
        resolve_secrets([SECRET, "short"])


def test_rotation_list_order_newest_last(monkeypatch: pytest.MonkeyPatch) -> None:
    """deployment.md: "Several secrets separated by commas rotate keys: the newest signs"."""
    old, new = OLD_SECRET, NEW_SECRET
    monkeypatch.setenv("SHIELDWARE_SECRET", f"{old}, {new}")
    assert resolve_secrets(None) == (old.encode(), new.encode())


def test_signing_layers_refuse_a_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """security.md: signing needs a secret; ProofOfWork without one fails at construction."""
    challenge = pytest.importorskip("shieldware.layers.challenge")
    monkeypatch.delenv("SHIELDWARE_SECRET", raising=False)
    with pytest.raises(ConfigurationError):
        challenge.ProofOfWork(None)


def test_the_default_memory_store_is_bounded_at_100_000() -> None:
    """deployment.md: "The default store is in memory, bounded (100,000 entries by default)"."""
    assert MemoryStore().max_entries == 100_000
    assert isinstance(Shield().store, MemoryStore)
    assert Shield().store.max_entries == 100_000  # type: ignore[attr-defined]


def test_shadow_mode_and_shadowed_layers_never_block() -> None:
    """deployment.md "Shadow first": decisions are made and reported, never enforced."""
    ip = ipaddress.ip_address("11.0.0.1")
    for shield in (
        Shield([TakeLayer(1)], mode="shadow"),
        Shield([shadowed(TakeLayer(1))]),
    ):
        wsgi = ShieldWSGIMiddleware(wsgi_hello, shield=shield)
        asgi = ShieldMiddleware(asgi_hello, shield=shield)
        for _ in range(5):
            out = Captured()
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/",
                "headers": [],
                "query_string": b"",
                "client": (str(ip), 1),
            }
            asyncio.run(asgi(scope, out.receive, out.send))
            assert out.status == 200
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": "/",
                "REMOTE_ADDR": str(ip),
                "wsgi.url_scheme": "http",
            }
            statuses: list[str] = []

            def start_response(
                s: str, h: object, e: object = None, out: list[str] = statuses
            ) -> None:
                out.append(s)

            wsgi(environ, start_response)  # type: ignore[arg-type]
            assert statuses[0].startswith("200")
        # ... but the refusal is recorded in the trail.
        decision = shield.decide(Facts("GET", "/", client_ip=ip))
        assert any(v.action.blocks for v in decision.trail)
