"""The interstitial's static files, read once from the package (importlib.resources)."""

from __future__ import annotations

import functools
import hashlib
from importlib.resources import files

from ..verdict import Reply

__all__ = ["ASSETS", "asset_reply"]

#: Served file name -> content type. Nothing else is ever read from the package.
ASSETS = {
    "pow.js": "text/javascript; charset=utf-8",
    "pow-worker.js": "text/javascript; charset=utf-8",
    "pow-form.js": "text/javascript; charset=utf-8",
    "pow.css": "text/css; charset=utf-8",
}


def asset_reply(name: str) -> Reply | None:
    """A cacheable 200 reply for asset `name`, or None when there is no such asset.

    Unknown names are answered before the cache, so probing them cannot evict the real files.
    """
    return _load(name) if name in ASSETS else None


@functools.lru_cache(maxsize=len(ASSETS))
def _load(name: str) -> Reply:
    content_type = ASSETS[name]
    body = (files("shieldware") / "assets" / name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    headers = (
        ("content-type", content_type),
        ("cache-control", "public, max-age=3600"),
        ("etag", etag),
        ("x-content-type-options", "nosniff"),
    )
    return Reply(200, headers, body)
