"""Capture real request heads on loopback into tests/fingerprint/corpus/captured.jsonl.

A tiny raw-socket server records each request's header lines exactly as sent (order and case),
serving a page with a stylesheet, an image, a script and a fetch() so browsers show their
subresource heads too. Clients: Chromium (headless, and headed under Xvfb when available) driven
by Playwright with Debian's /usr/bin/chromium, curl, wget, requests, httpx, aiohttp, urllib, Node
fetch and Node http.get, plus a few impersonation attempts (library stacks with a browser UA).

Chromium treats http://127.0.0.1 as a secure context, so it sends fetch metadata and client hints
as it would to an HTTPS site; the corpus records these heads with ``"scheme": "https"``.

Run: ``python tests/fingerprint/tools/capture.py`` (takes ~30 s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "corpus" / "captured.jsonl"
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PAGE = b"""<!doctype html><html><head><title>t</title>
<link rel="stylesheet" href="/style.css"><script src="/app.js"></script></head>
<body><img src="/img.png" alt=""><a id="next" href="/next">next</a>
<script>fetch('/api/data').then(r => r.text()).then(() => { document.title = 'done'; });</script>
</body></html>"""
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
TYPES = {
    "/": ("text/html", PAGE),
    "/next": ("text/html", PAGE.replace(b"fetch(", b"void(")),
    "/style.css": ("text/css", b"body{color:#111}"),
    "/app.js": ("text/javascript", b"window.x=1;"),
    "/img.png": ("image/png", PNG),
    "/api/data": ("application/json", b'{"ok":true}'),
}


class Recorder:
    """A threaded loopback server that records raw header lines per request."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.heads: list[dict[str, Any]] = []
        self.label = ""
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
                headers = [[k, v.strip()] for k, v in headers]
                path = target.split("?", 1)[0]
                with self.lock:
                    self.heads.append(
                        {"label": self.label, "method": method, "path": path, "headers": headers}
                    )
                ctype, body = TYPES.get(path, ("text/plain", b"ok"))
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype.encode() + b"\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                    b"Cache-Control: no-store\r\n\r\n" + body
                )
        except (OSError, ValueError):
            return
        finally:
            conn.close()

    def take(self, label: str) -> list[dict[str, Any]]:
        with self.lock:
            return [h for h in self.heads if h["label"] == label]


def _run(cmd: list[str]) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    return (result.stdout + result.stderr).strip()


async def _chromium(rec: Recorder, label: str, *, headless: bool) -> str:
    from playwright.async_api import async_playwright

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    if headless:
        args.insert(0, "--headless")
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=headless, args=args
        )
        page = await browser.new_page()
        rec.label = label
        await page.goto(f"http://127.0.0.1:{rec.port}/")
        await page.wait_for_function("document.title === 'done'", timeout=10000)
        await page.click("#next")
        await page.wait_for_load_state("load")
        await asyncio.sleep(0.3)
        version = browser.version
        await browser.close()
    return version


def main() -> None:
    rec = Recorder()
    base = f"http://127.0.0.1:{rec.port}/"
    today = dt.date.today().isoformat()
    rows: list[dict[str, Any]] = []

    def keep(label: str, cls: str, client: str, *, only_first: bool = False) -> None:
        heads = rec.take(label)
        if only_first:
            heads = heads[:1]
        for i, h in enumerate(heads):
            rows.append(
                {
                    "id": f"{label}-{i}",
                    "class": cls,
                    "client": client,
                    "provenance": f"captured on loopback by tools/capture.py on {today}",
                    "scheme": "https",
                    "method": h["method"],
                    "path": h["path"],
                    "headers": h["headers"],
                }
            )

    # Browsers.
    version = asyncio.run(_chromium(rec, "chromium-headless", headless=True))
    keep("chromium-headless", "automation", f"Chromium {version} headless (Playwright)")
    if shutil.which("xvfb-run") and not os.environ.get("DISPLAY"):
        code = subprocess.run(
            ["xvfb-run", "-a", sys.executable, __file__, "--headed", str(rec.port)],
            check=False,
            timeout=120,
            capture_output=True,
            text=True,
        )
        if code.returncode != 0:
            print("headed capture failed:", code.stderr[-500:])
    # Libraries and tools.
    rec.label = "curl"
    _run(["curl", "-s", base])
    keep("curl", "library", _run(["curl", "--version"]).splitlines()[0])
    rec.label = "wget"
    _run(["wget", "-q", "-O", "/dev/null", base])
    keep("wget", "library", _run(["wget", "--version"]).splitlines()[0])
    import aiohttp
    import httpx
    import requests

    rec.label = "requests"
    requests.get(base, timeout=5)
    keep("requests", "library", f"requests {requests.__version__}")
    rec.label = "httpx"
    httpx.get(base, timeout=5)
    keep("httpx", "library", f"httpx {httpx.__version__}")

    async def _aio() -> None:
        async with aiohttp.ClientSession() as session, session.get(base) as response:
            await response.read()

    rec.label = "aiohttp"
    asyncio.run(_aio())
    keep("aiohttp", "library", f"aiohttp {aiohttp.__version__}")
    rec.label = "urllib"
    urllib.request.urlopen(base, timeout=5).read()
    keep("urllib", "library", f"urllib (Python {sys.version.split()[0]})")
    node = _run(["node", "--version"])
    rec.label = "node-fetch"
    _run(["node", "-e", f"fetch('{base}').then(r => r.text())"])
    keep("node-fetch", "library", f"Node {node} fetch (undici)")
    rec.label = "node-http"
    _run(["node", "-e", f"require('http').get('{base}', r => r.resume())"])
    keep("node-http", "library", f"Node {node} http.get")
    # Impersonation: library stacks wearing a browser's user agent.
    rec.label = "curl-chrome-ua"
    _run(["curl", "-s", "-A", CHROME_UA, base])
    keep("curl-chrome-ua", "automation", "curl with a Chrome UA")
    rec.label = "requests-chrome-ua"
    requests.get(base, headers={"User-Agent": CHROME_UA}, timeout=5)
    keep("requests-chrome-ua", "automation", "requests with a Chrome UA")
    rec.label = "httpx-chrome-ua"
    httpx.get(base, headers={"User-Agent": CHROME_UA, "Accept-Language": "en-US"}, timeout=5)
    keep("httpx-chrome-ua", "automation", "httpx with a Chrome UA and Accept-Language")
    rows.extend(_load_headed())
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} heads written to {OUT}")


_HEADED = Path("/tmp/shieldware-headed-capture.json")


def _load_headed() -> list[dict[str, Any]]:
    if not _HEADED.exists():
        return []
    rows: list[dict[str, Any]] = json.loads(_HEADED.read_text())
    _HEADED.unlink()
    return rows


def headed(port: int) -> None:
    """Run inside xvfb-run: capture headed Chromium against the parent's... own recorder."""
    rec = Recorder()
    version = asyncio.run(_chromium(rec, "chromium-headed", headless=False))
    today = dt.date.today().isoformat()
    rows = [
        {
            "id": f"chromium-headed-{i}",
            "class": "browser",
            "client": f"Chromium {version} headed under Xvfb (Playwright)",
            "provenance": f"captured on loopback by tools/capture.py on {today}",
            "scheme": "https",
            "method": h["method"],
            "path": h["path"],
            "headers": h["headers"],
        }
        for i, h in enumerate(rec.take("chromium-headed"))
    ]
    _HEADED.write_text(json.dumps(rows))
    del port


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--headed":
        headed(int(sys.argv[2]))
    else:
        main()
