"""``shieldware explain``: what would my policy decide about this request, and why?

A request is given as a method, a URL, headers and a client address, or as a curl command line
(``-X``, ``-H``, ``-A``, ``-b``, ``-e``, ``-G``, ``-I``; ``-d``/``--data*``/``-F`` imply POST).
It becomes an ASGI scope, so the policy's own `TrustedProxies` resolve the client as in production.
"""

from __future__ import annotations

import importlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigurationError
from .facts import Facts
from .policy import Shield

__all__ = ["RequestSpec", "load_policy", "origin_line", "parse_curl", "scope_for"]

_DATA_FLAGS = {
    "-d",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-ascii",
    "--data-urlencode",
    "-F",
    "--form",
    "--json",
}
_IGNORED_WITH_VALUE = {
    "-o",
    "--output",
    "-u",
    "--user",
    "-m",
    "--max-time",
    "--connect-timeout",
    "-w",
    "--write-out",
    "-x",
    "--proxy",
    "--retry",
    "-c",
    "--cookie-jar",
    "--resolve",
    "--cacert",
    "--cert",
    "--key",
}


@dataclass
class RequestSpec:
    """One request to explain."""

    url: str = "/"
    method: str = "GET"
    headers: list[tuple[str, str]] = field(default_factory=list)
    client: str = "127.0.0.1"


def parse_header(line: str) -> tuple[str, str]:
    name, sep, value = line.partition(":")
    if not sep or not name.strip():
        raise ConfigurationError(f"not a header line (Name: value): {line!r}")
    return name.strip().lower(), value.strip()


def parse_curl(command: str | Sequence[str]) -> RequestSpec:
    """A `RequestSpec` from a curl command line (a string or its words)."""
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words and words[0] == "curl":
        words = words[1:]
    spec = RequestSpec(url="")
    method: str | None = None
    has_data = get = head = False
    it = iter(words)
    for word in it:
        flag, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")

        def value(flag: str = flag, eq: str = eq, inline: str = inline) -> str:
            if eq:
                return inline
            try:
                return next(it)
            except StopIteration:
                raise ConfigurationError(f"curl option {flag} needs a value") from None

        if flag in ("-X", "--request"):
            method = value().upper()
        elif flag in ("-H", "--header"):
            spec.headers.append(parse_header(value()))
        elif flag in ("-A", "--user-agent"):
            spec.headers.append(("user-agent", value()))
        elif flag in ("-b", "--cookie"):
            spec.headers.append(("cookie", value()))
        elif flag in ("-e", "--referer"):
            spec.headers.append(("referer", value()))
        elif flag in _DATA_FLAGS:
            value()
            has_data = True
        elif flag in ("-G", "--get"):
            get = True
        elif flag in ("-I", "--head"):
            head = True
        elif flag == "--url":
            spec.url = value()
        elif flag in _IGNORED_WITH_VALUE:
            value()
        elif word.startswith("-") and len(word) > 1:
            continue  # flags without a value (-s, -i, -L, -k, --compressed, ...)
        else:
            spec.url = word
    if not spec.url:
        raise ConfigurationError("the curl command has no URL")
    spec.method = method or ("HEAD" if head else "GET" if get or not has_data else "POST")
    return spec


def scope_for(spec: RequestSpec) -> dict[str, Any]:
    """The ASGI http scope a server would build for `spec`, the client at `spec.client`.

    :raises ConfigurationError: when the URL cannot be parsed.
    """
    url = spec.url if "://" in spec.url else "http://localhost/" + spec.url.lstrip("/")
    try:
        parts = urlsplit(url)
        scheme = parts.scheme or "http"
        host = parts.hostname or "localhost"
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise ConfigurationError(f"not a URL: {spec.url!r} ({exc})") from None
    headers = list(spec.headers)
    if not any(name == "host" for name, _ in headers):
        netloc = parts.netloc.rsplit("@", 1)[-1]
        headers.insert(0, ("host", netloc or host))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": spec.method.upper(),
        "scheme": scheme,
        "path": parts.path or "/",
        "raw_path": (parts.path or "/").encode("latin-1", "replace"),
        "query_string": parts.query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": [
            (k.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for k, v in headers
        ],
        "client": (spec.client, 50000),
        "server": (host, port),
    }


def load_policy(target: str | None, origins: Any = None) -> Shield:
    """A `Shield` from ``module:attribute`` (a Shield, a middleware holding one, or a factory).

    None gives the default chain, with a throw-away secret when ``SHIELDWARE_SECRET`` is unset
    (and the origin signals when `origins`, an origin lookup, is given).
    """
    if not target:
        import os

        from .secret import ENV_VAR, generate_secret

        return Shield.default(os.environ.get(ENV_VAR) or generate_secret(), origins=origins)
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(f"--policy wants module:attribute, not {target!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(f"{module_name!r} has no attribute {attribute!r}") from None
    if callable(obj) and not isinstance(obj, Shield) and not hasattr(obj, "shield"):
        try:
            obj = obj()
        except Exception as exc:  # user code: report it, do not crash
            raise ConfigurationError(f"calling {target} failed: {exc!r}") from exc
    shield = getattr(obj, "shield", obj)
    if not isinstance(shield, Shield):
        raise ConfigurationError(f"{target} is not a Shield (got {type(obj).__name__})")
    return shield


def origin_line(
    shield: Shield, facts: Facts, db: str | None = None, country: str | None = None
) -> str | None:
    """Where the request's client comes from, for the explanation; None without origin data.

    `db` (and `country`) name origin database files; without them, the lookup the policy's
    own layers use (``Fingerprint(origin=)``, ``OriginList``) answers, if there is one.

    :raises ConfigurationError: when a named file cannot be read.
    """
    from .origin import OriginDB, lookup_in

    lookup = lookup_in(shield)
    if db is not None and lookup is None:
        origins = OriginDB(db, country=country, check_every=None)
        try:
            origin = origins.origin_of(facts.client_ip)
        finally:
            origins.close()
    elif lookup is not None:
        origin = lookup.origin_for(facts.client)
    else:
        return None
    return str(origin)
