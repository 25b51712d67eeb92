"""Signals: small pure functions of a request `Head`, each with a weight, a group and preconditions.

A signal's function returns something truthy when it fires (a short string is kept as evidence)
and something falsy otherwise. It never raises on hostile input: it only reads parsed values.
Preconditions are declared, not coded, so the layer can skip a signal cheaply and *say* why
(``needs={"https"}``: fetch metadata and client hints are only sent to secure origins).

Groups cap correlated evidence: one curl request is "missing browser headers" once, not four
times. Positive weights are evidence of automation, negative ones of a person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from ..errors import ConfigurationError
from .head import Head

__all__ = [
    "CACHE_HEADERS",
    "DEFAULT_CAPS",
    "DEFAULT_SIGNALS",
    "NEEDS",
    "ORIGIN_SIGNALS",
    "Check",
    "Signal",
    "signal",
]

Check = Callable[[Head], object]

#: Preconditions a signal may declare.
NEEDS = frozenset(
    {
        "https",  # the client reached us over HTTPS (directly or via a trusted proxy)
        "order",  # header order is meaningful (not WSGI, not a sorting proxy)
        "browser",  # the UA claims a mainstream browser and no pack calls it a robot
        "unclaimed",  # the UA names no robot category and is not empty (browsers and unknowns)
        "origin",  # the layer has an origin database (Fingerprint(origin=...)); see ORIGIN_SIGNALS
    }
)
#: The header values cacheable signals may read (with method, scheme and header names).
CACHE_HEADERS = (
    "user-agent",
    "accept",
    "accept-language",
    "accept-encoding",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-dest",
    "sec-fetch-user",
    "upgrade-insecure-requests",
)
#: Default caps per group: the most a group adds (or, for negative groups, removes).
DEFAULT_CAPS: Mapping[str, float] = {
    "identity": 5.0,
    "automation": 8.0,
    "missing-headers": 3.0,
    "consistency": 8.0,
    "transport": 6.0,
    "trust": -2.0,
    # a failed range check and a claim from the wrong AS are one fact: count it once
    "goodbot": 6.0,
}


@dataclass(frozen=True, slots=True)
class Signal:
    """A named check with its weight, correlation group and preconditions.

    :param name: short kebab-case name, shown in explanations (``"chrome-no-client-hints"``).
    :param check: ``(Head) -> truthy`` when the signal fires; a string result is kept as evidence.
    :param weight: added to the score when it fires (negative: evidence of a person).
    :param group: signals of one group share the group's cap.
    :param needs: preconditions from `NEEDS`; the signal is skipped, and reported as skipped,
        when one is not met.
    :param shadow: fire and report, but never count (try a new signal on live traffic).
    :param doc: one line for docs and explanations.
    :param cacheable: the result depends only on the method, the scheme, the header *names* and
        the values of `CACHE_HEADERS` (never on path, cookies or address), so the layer may reuse
        it for identical heads. Leave False for your own signals unless that holds.
    """

    name: str
    check: Check
    weight: float
    group: str = ""
    needs: frozenset[str] = field(default_factory=frozenset)
    shadow: bool = False
    doc: str = ""
    cacheable: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.needs) - NEEDS
        if unknown:
            raise ConfigurationError(f"signal {self.name!r}: unknown needs {sorted(unknown)}")

    def with_(self, **changes: object) -> Signal:
        """A copy with, e.g., another weight or ``shadow=True``."""
        return replace(self, **changes)  # type: ignore[arg-type]


def signal(
    name: str,
    weight: float,
    *,
    group: str = "",
    needs: Iterable[str] = (),
    cacheable: bool = False,
) -> Callable[[Check], Signal]:
    """Decorator turning a plain function into a `Signal` (how users add their own)."""

    def wrap(func: Check) -> Signal:
        doc = " ".join((func.__doc__ or "").split())
        return Signal(name, func, weight, group, frozenset(needs), doc=doc, cacheable=cacheable)

    return wrap


# -- identity: what the user agent declares ---------------------------------------------------
@signal("ua-empty", 3.0, group="identity", cacheable=True)
def ua_empty(h: Head) -> object:
    """No User-Agent, or an empty one (Node http.get, some scripts)."""
    return h.ua.family == "empty"


@signal("ua-malformed", 2.0, group="identity", cacheable=True)
def ua_malformed(h: Head) -> object:
    """A User-Agent that is absurdly long or carries control characters."""
    raw = h.ua_raw
    return len(raw) > 512 or (raw and not raw.isprintable())


@signal("ua-library", 3.0, group="identity", cacheable=True)
def ua_library(h: Head) -> object:
    """An HTTP library or command-line tool (curl, requests, httpx, Go, okhttp)."""
    category = h.ua.category
    return category == "library" and h.ua.hits[0].id


@signal("ua-ai-crawler", 4.0, group="identity", cacheable=True)
def ua_ai_crawler(h: Head) -> object:
    """An AI training or indexing crawler (GPTBot, ClaudeBot, CCBot, Bytespider)."""
    return h.ua.category == "ai-crawler" and h.ua.hits[0].id


@signal("ua-ai-user", 3.0, group="identity", cacheable=True)
def ua_ai_user(h: Head) -> object:
    """An AI agent fetching on a person's behalf (ChatGPT-User, Claude-User)."""
    return h.ua.category == "ai-user" and h.ua.hits[0].id


_CRAWLERS = frozenset({"crawler", "archiver", "search", "monitoring", "preview", "feed", "tool"})


@signal("ua-crawler", 3.0, group="identity", cacheable=True)
def ua_crawler(h: Head) -> object:
    """A self-declared robot: search, SEO, archive, monitor, preview, feed or dev tool."""
    category = h.ua.category
    return category in _CRAWLERS and f"{category}:{h.ua.hits[0].id}"


@signal("ua-unknown", 1.5, group="identity", needs=("unclaimed",), cacheable=True)
def ua_unknown(h: Head) -> object:
    """A User-Agent that is neither a known browser nor a known robot."""
    return h.ua.engine == ""


@signal("ua-automation", 6.0, group="automation", cacheable=True)
def ua_automation(h: Head) -> object:
    """A headless or driven browser (HeadlessChrome, Puppeteer, Playwright, Lightpanda)."""
    return h.ua.headless or (h.ua.category == "automation" and h.ua.hits[0].id)


@signal("ua-scanner", 6.0, group="automation", cacheable=True)
def ua_scanner(h: Head) -> object:
    """A vulnerability or port scanner (sqlmap, Nikto, nuclei, zgrab)."""
    return h.ua.category == "scanner" and h.ua.hits[0].id


@signal("client-hints-headless", 6.0, group="automation", cacheable=True)
def ch_headless(h: Head) -> object:
    """``Sec-CH-UA`` names HeadlessChrome."""
    brands = h.brands
    return brands is not None and any(b == "HeadlessChrome" for b, _ in brands)


# -- missing browser headers (one group: they fire together for any tool) ----------------------
@signal("no-accept", 1.5, group="missing-headers", needs=("unclaimed",), cacheable=True)
def no_accept(h: Head) -> object:
    """No Accept header (every browser sends one)."""
    return not h.has("accept")


@signal("no-accept-language", 1.5, group="missing-headers", needs=("unclaimed",), cacheable=True)
def no_accept_language(h: Head) -> object:
    """No Accept-Language (every browser sends one; no HTTP library does)."""
    return not h.has("accept-language")


@signal("no-accept-encoding", 1.0, group="missing-headers", needs=("unclaimed",), cacheable=True)
def no_accept_encoding(h: Head) -> object:
    """No Accept-Encoding (every browser sends one)."""
    return not h.has("accept-encoding")


@signal("accept-language-any", 1.0, group="missing-headers", needs=("unclaimed",), cacheable=True)
def accept_language_any(h: Head) -> object:
    """``Accept-Language: *`` (Node's fetch); browsers always name a language."""
    return h.get("accept-language") == "*"


@signal("few-headers", 1.0, group="missing-headers", needs=("unclaimed",), cacheable=True)
def few_headers(h: Head) -> object:
    """Fewer than four client headers besides Host."""
    return len(h.names) - h.has("host") < 4


# -- cross-header consistency (independent; they stack up to the group cap) -------------------
#: Minimum versions sending fetch metadata (MDN/BCD): Chromium 80, Firefox 90, Safari 16.4.
_FETCH_METADATA = {"blink": 80, "gecko": 90, "webkit": 17}


def _supports_fetch_metadata(h: Head) -> bool:
    floor = _FETCH_METADATA.get(h.ua.engine)
    major = h.ua.major
    if floor is None or major is None:
        return False
    if h.ua.family == "ios-webkit" or "Goanna/" in h.ua_raw:
        return False  # iOS: the version is the app's, not WebKit's; Pale Moon: not Firefox
    return major >= floor


@signal("no-fetch-metadata", 3.0, group="consistency", needs=("https", "browser"), cacheable=True)
def no_fetch_metadata(h: Head) -> object:
    """A browser recent enough to send Sec-Fetch-* sent none over HTTPS."""
    return (
        _supports_fetch_metadata(h)
        and not h.has("sec-fetch-mode")
        and not h.has("sec-fetch-site")
        and not h.has("sec-fetch-dest")
    )


def _sends_client_hints(h: Head) -> bool:
    ua = h.ua
    return (
        ua.engine == "blink"
        and ua.major is not None
        and ua.major >= 90
        and "; wv)" not in h.ua_raw  # Android WebView: hints not guaranteed
    )


@signal(
    "chrome-no-client-hints", 3.0, group="consistency", needs=("https", "browser"), cacheable=True
)
def chrome_no_client_hints(h: Head) -> object:
    """A Chromium UA (90+) over HTTPS without Sec-CH-UA (sent by default since Chrome 89)."""
    return _sends_client_hints(h) and not h.has("sec-ch-ua")


@signal(
    "client-hints-from-gecko-webkit", 4.0, group="consistency", needs=("browser",), cacheable=True
)
def client_hints_non_chromium(h: Head) -> object:
    """Firefox or Safari sent Sec-CH-UA, which only Chromium implements."""
    return h.ua.engine in ("gecko", "webkit") and h.has("sec-ch-ua")


_KNOWN_BRANDS = frozenset(
    {
        "Chromium",
        "Google Chrome",
        "Microsoft Edge",
        "Opera",
        "Opera GX",
        "Brave",
        "HeadlessChrome",
        "Samsung Internet",
        "YaBrowser",
        "Yandex",
        "Vivaldi",
        "Android WebView",
        "DuckDuckGo",
    }
)


@signal(
    "client-hints-version-mismatch", 4.0, group="consistency", needs=("browser",), cacheable=True
)
def client_hints_version(h: Head) -> object:
    """Sec-CH-UA's Chromium version differs from the UA's, or Edge's brand lacks Edg/."""
    brands = h.brands
    if not brands or h.ua.engine != "blink":
        return False
    for brand, version in brands:
        if brand == "Chromium" and h.ua.major is not None and version != str(h.ua.major):
            return f"Chromium {version} vs UA {h.ua.major}"
        if brand == "Microsoft Edge" and h.ua.family != "edge":
            return "Edge brand without Edg/ in the UA"
    return False


@signal("client-hints-no-grease", 3.0, group="consistency", needs=("browser",), cacheable=True)
def client_hints_no_grease(h: Head) -> object:
    """A Sec-CH-UA list without the GREASE brand every Chromium adds."""
    brands = h.brands
    return brands is not None and all(b in _KNOWN_BRANDS for b, _ in brands)


@signal("client-hints-invalid", 3.0, group="consistency", needs=("browser",), cacheable=True)
def client_hints_invalid(h: Head) -> object:
    """A Sec-CH-UA value that is not a valid brand list."""
    return h.has("sec-ch-ua") and h.brands is None


_CH_PLATFORMS = {
    '"Windows"': "Windows",
    '"macOS"': "macOS",
    '"Linux"': "Linux",
    '"Android"': "Android",
    '"Chrome OS"': "Chrome OS",
    '"Chromium OS"': "Chrome OS",
    '"iOS"': "iOS",
}


@signal(
    "client-hints-platform-mismatch", 4.0, group="consistency", needs=("browser",), cacheable=True
)
def client_hints_platform(h: Head) -> object:
    """Sec-CH-UA-Platform or -Mobile contradicts the UA (desktop-site mode on Android allowed)."""
    raw = h.get("sec-ch-ua-platform")
    ua_platform = h.ua.platform
    if raw is not None and ua_platform:
        claimed = _CH_PLATFORMS.get(raw)
        if (
            claimed is not None
            and claimed != ua_platform
            and not (claimed == "Android" and ua_platform == "Linux")
        ):
            return f"{claimed} vs UA {ua_platform}"
    if h.get("sec-ch-ua-mobile") == "?1" and ua_platform in ("Windows", "macOS"):
        return "mobile hint on a desktop UA"
    return False


@signal(
    "fetch-metadata-inconsistent", 3.0, group="consistency", needs=("unclaimed",), cacheable=True
)
def fetch_metadata_inconsistent(h: Head) -> object:
    """Sec-Fetch-* values no browser sends together (a lone Sec-Fetch-Mode is Node's fetch)."""
    mode = h.get("sec-fetch-mode")
    if mode is not None and (not h.has("sec-fetch-site") or not h.has("sec-fetch-dest")):
        return "mode without site/dest"
    if h.get("sec-fetch-user") == "?1" and mode != "navigate":
        return "user activation on a non-navigation"
    if h.get("sec-fetch-dest") == "document" and h.get("accept") in (None, "*/*"):
        return "document with Accept */*"
    return False


@signal("no-brotli-on-https", 1.0, group="consistency", needs=("https", "browser"), cacheable=True)
def no_brotli(h: Head) -> object:
    """A browser over HTTPS whose Accept-Encoding lacks br (all current browsers offer it)."""
    encoding = h.get("accept-encoding")
    return encoding is not None and "br" not in encoding


def _looks_sorted(names: tuple[str, ...]) -> bool:
    return len(names) >= 4 and list(names) == sorted(names)


@signal(
    "header-order-mismatch", 3.0, group="consistency", needs=("order", "browser"), cacheable=True
)
def header_order(h: Head) -> object:
    """Header order contradicts the claimed browser (Chromium: UA before Accept, Accept-Encoding
    before Accept-Language; Firefox: UA, Accept, Accept-Language, Accept-Encoding)."""
    names = h.names
    if _looks_sorted(names):
        return False
    pos = {n: i for i, n in enumerate(names)}
    ua, accept = pos.get("user-agent"), pos.get("accept")
    enc, lang = pos.get("accept-encoding"), pos.get("accept-language")
    engine = h.ua.engine
    if engine in ("blink", "gecko") and ua is not None and accept is not None and ua > accept:
        return "user-agent after accept"
    if engine == "blink" and enc is not None and lang is not None and enc > lang:
        return "accept-encoding after accept-language"
    if engine == "gecko" and enc is not None and lang is not None and lang > enc:
        return "accept-language after accept-encoding"
    return False


# -- transport (values from a trusted proxy only) ----------------------------------------------
@signal("ja4-not-browser-alpn", 4.0, group="transport", needs=("browser",), cacheable=True)
def ja4_alpn(h: Head) -> object:
    """The TLS handshake (JA4 from a trusted proxy) offered no h2/h3 though the UA is a browser."""
    ja4 = h.ja4
    return len(ja4) >= 10 and ja4[8:10] not in ("h2", "h3") and f"alpn {ja4[8:10]}"


@signal("fingerprint-header-spoofed", 3.0, group="transport", cacheable=True)
def ja4_spoofed(h: Head) -> object:
    """A TLS-fingerprint header arrived from a peer that is not a trusted proxy."""
    return h.ja4_untrusted


# -- trust cues (capped: all are trivially forged) ---------------------------------------------
@signal("upgrade-insecure-requests", -1.0, group="trust", needs=("browser",), cacheable=True)
def upgrade_insecure(h: Head) -> object:
    """A browser navigation with Upgrade-Insecure-Requests: 1."""
    return h.get("upgrade-insecure-requests") == "1" and h.navigation


# -- origin (only with Fingerprint(origin=...)) ------------------------------------------------
# Signals that need "origin" read only `origin`, `bot`, `bot_asns` and the UA's category and
# flags: the layer remembers their result per (UA class, claimed bot, origin), not per head.
_HOSTING = "hosting"  # Category.HOSTING, without importing the origin package


def _network(h: Head) -> str:
    origin = h.origin
    if origin is None:
        return ""
    name = "AS?" if origin.asn is None else f"AS{origin.asn}"
    return f"{name} {origin.category}"


@signal("origin-hosting-browser", 4.0, group="origin", needs=("origin", "browser"))
def origin_hosting_browser(h: Head) -> object:
    """A browser head from a hosting or cloud network: a VM, not a home or a phone."""
    return h.origin is not None and h.origin.category == _HOSTING and _network(h)


@signal("origin-hosting-library", 0.5, group="origin", needs=("origin",))
def origin_hosting_library(h: Head) -> object:
    """A self-declared HTTP library from a hosting network: normal for servers, weighs little."""
    return (
        h.origin is not None
        and h.origin.category == _HOSTING
        and h.ua.category == "library"
        and _network(h)
    )


@signal("origin-bot-wrong-asn", 6.0, group="goodbot", needs=("origin",))
def origin_bot_wrong_asn(h: Head) -> object:
    """A verifiable crawler's name from an AS its operator does not crawl from (no DNS wait)."""
    origin = h.origin
    return (
        h.bot
        and h.bot_asns
        and origin is not None
        and origin.asn is not None
        and origin.asn not in h.bot_asns
        and f"{h.bot} from AS{origin.asn}"
    )


#: Signals from where the request comes from; `Fingerprint(origin=...)` adds them.
ORIGIN_SIGNALS: tuple[Signal, ...] = (
    origin_hosting_browser,
    origin_hosting_library,
    origin_bot_wrong_asn,
)

#: The default signal set, in evaluation order.
DEFAULT_SIGNALS: tuple[Signal, ...] = (
    ua_empty,
    ua_malformed,
    ua_library,
    ua_ai_crawler,
    ua_ai_user,
    ua_crawler,
    ua_unknown,
    ua_automation,
    ua_scanner,
    ch_headless,
    no_accept,
    no_accept_language,
    no_accept_encoding,
    accept_language_any,
    few_headers,
    no_fetch_metadata,
    chrome_no_client_hints,
    client_hints_non_chromium,
    client_hints_version,
    client_hints_no_grease,
    client_hints_invalid,
    client_hints_platform,
    fetch_metadata_inconsistent,
    no_brotli,
    header_order,
    ja4_alpn,
    ja4_spoofed,
    upgrade_insecure,
)
