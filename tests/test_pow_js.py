"""The browser worker's SHA-256 and solver, run under Node, against the Python verifier."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from importlib.resources import files

import pytest

from shieldware import Action, Facts, MemoryStore, Shield
from shieldware.layers import ProofOfWork
from shieldware.layers.challenge import BASE_PATH
from tests.conftest import SECRET

NODE = shutil.which("node")
pytestmark = pytest.mark.needs("node")
WORKER = str(files("shieldware") / "assets" / "pow-worker.js")


def node(script: str) -> object:
    code = f"const w = require({json.dumps(WORKER)});\n{script}"
    out = subprocess.run(
        [NODE or "node", "-e", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout)


def test_worker_sha256_matches_hashlib() -> None:
    messages = ["", "abc", "a" * 55, "shieldware", "c1.AbC_-9.63.4294967295", "\x7f~ !"]
    messages += [f"id{i}.{i % 7}.{i * 7919}" for i in range(200)]
    got = node(f"console.log(JSON.stringify({json.dumps(messages)}.map(w.sha256Short)))")
    assert got == [hashlib.sha256(m.encode()).hexdigest() for m in messages]
    assert node("console.log(JSON.stringify(w.selfTestOk))") is True


def test_worker_nonces_satisfy_the_python_verifier() -> None:
    # nonces crossing digit boundaries (9 -> 10, 99 -> 100, ...) exercise the in-place increment
    script = """
    const out = [];
    for (const [cid, i, bits] of [["abc", 0, 1], ["abc", 1, 4], ["Zz-_", 2, 10], ["q", 3, 13]]) {
      out.push([cid, i, bits, w.solvePrefix(cid + "." + i + ".", bits).nonce]);
    }
    console.log(JSON.stringify(out));
    """
    results = node(script)
    assert isinstance(results, list)
    for cid, index, bits, nonce in results:
        assert _check_one(cid, index, bits, nonce)
        assert not any(_check_one(cid, index, bits, n) for n in range(nonce))


def _check_one(cid: str, index: int, bits: int, nonce: int) -> bool:
    digest = hashlib.sha256(f"{cid}.{index}.{nonce}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> (32 - bits) == 0


def test_worker_finds_the_first_solution() -> None:
    found = node('console.log(JSON.stringify(w.solvePrefix("first.0.", 8)))')
    assert isinstance(found, dict)
    nonce = found["nonce"]
    assert found["hashes"] == nonce + 1
    assert _check_one("first", 0, 8, nonce)
    assert not any(_check_one("first", 0, 8, n) for n in range(nonce))


def test_js_solution_is_accepted_by_the_layer() -> None:
    import ipaddress

    shield = Shield([ProofOfWork(SECRET, count=4, bits=10)], store=MemoryStore())
    ip = ipaddress.ip_address("10.0.0.1")
    page = shield.decide(
        Facts("GET", "/", headers=(("accept", "text/html"),), client_ip=ip)
    ).verdict.reply
    assert page is not None
    token = page.body.decode().split('data-challenge="', 1)[1].split('"', 1)[0]
    cid = token.split(".")[1]
    nonces = node(
        f"const cid = {json.dumps(cid)}; const out = [];"
        "for (let i = 0; i < 4; i++) out.push(w.solvePrefix(cid + '.' + i + '.', 10).nonce);"
        "console.log(JSON.stringify(out));"
    )
    assert isinstance(nonces, list)
    query = f"c={token}&s={','.join(map(str, nonces))}&r=/"
    verdict = shield.decide(
        Facts(
            "GET",
            BASE_PATH + "verify",
            headers=(("accept", "text/html"),),
            client_ip=ip,
            query=query,
        )
    ).verdict
    assert verdict.action is Action.ALLOW
