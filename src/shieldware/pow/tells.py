"""Automation tells: what the challenge page's script says about its browser, judged server-side.

Stealth clients copy a browser's request head exactly, so the head alone cannot tell them apart.
The interstitial runs script anyway, and a browser under automation, or one whose User-Agent was
swapped, gives itself away there: ``navigator.webdriver`` (the W3C WebDriver flag, set *so that*
sites can tell), ``HeadlessChrome`` in ``navigator.userAgent``, a ``navigator.userAgentData`` that
disagrees with the User-Agent, a worker whose navigator differs from the page's.

The page sends a compact report (base64url JSON, at most `MAX_REPORT` characters) with its answer.
`parse` reads it strictly: bounded sizes, known fields of the expected types only, unknown fields
ignored, anything malformed is "no report" (never an exception). A `Tells` policy then runs named,
weighted checks (`Tell`), each with a per-tell shadow switch, groups capped like the fingerprint
signals, and says whether the verify step refuses the clearance (`deny_at`) or signs the score
into it. Everything collected is listed in docs/proof-of-work.md ("Automation tells"); none of it
identifies a person (no canvas, fonts, audio, screen or time zone).

Tells are evidence *against* a client, never for it: a report is written by the client, so a
careful bot sends a clean one. They catch stock automation cheaply; they prove nothing clean.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import ConfigurationError
from ..facts import Facts
from ..fingerprint.head import parse_brands
from ..fingerprint.scoring import apply_caps, fire
from ..fingerprint.ua import MAX_UA, parse_browser

__all__ = [
    "DEFAULT_TELL_CAPS",
    "DEFAULT_TELLS",
    "MAX_REPORT",
    "QUERY_PARAM",
    "Env",
    "Evidence",
    "Report",
    "Tell",
    "TellScore",
    "Tells",
    "parse",
    "tell",
]

#: The verify endpoint's query parameter carrying the report.
QUERY_PARAM = "t"
#: Longest encoded report read; a longer one is "no report".
MAX_REPORT = 4096
_MAX_TEXT = 80
_MAX_BRANDS = 12
_MAX_LANGUAGES = 12
_MAX_INT = 1 << 20

Brands = tuple[tuple[str, str], ...]
Expect = Literal["page", "always", "never"]


# -- the report ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Env:
    """One JavaScript realm's navigator (the page's, or a worker's); None where not reported.

    `brands` is None when ``navigator.userAgentData`` is absent (Firefox, Safari, insecure pages).
    """

    ua: str | None = None
    platform: str | None = None
    brands: Brands | None = None
    ua_platform: str | None = None
    mobile: bool | None = None
    cores: int | None = None
    languages: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """What the page reported. `worker` is None when no worker reported."""

    page: Env
    worker: Env | None = None
    webdriver: bool | None = None
    secure: bool | None = None
    chrome: bool | None = None
    plugins: int | None = None
    mimes: int | None = None
    pdf: bool | None = None
    outer: tuple[int, int] | None = None
    notification: str | None = None
    permission: str | None = None
    wasm: bool | None = None
    subtle: bool | None = None


def _text(value: object, limit: int = _MAX_TEXT) -> str | None:
    return value if isinstance(value, str) and len(value) <= limit and value.isascii() else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= _MAX_INT else None


def _brands(value: object) -> Brands | None:
    if not isinstance(value, list) or len(value) > _MAX_BRANDS:
        return None
    out: list[tuple[str, str]] = []
    for item in value:
        if not isinstance(item, list) or len(item) != 2:
            return None
        brand, version = _text(item[0]), _text(item[1], 40)
        if brand is None or version is None:
            return None
        out.append((brand, version))
    return tuple(out)


def _languages(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list) or len(value) > _MAX_LANGUAGES:
        return None
    out = tuple(_text(v, 35) for v in value)
    return None if None in out else out  # type: ignore[return-value]


def _env(raw: object) -> Env | None:
    # Every browser's navigator has a userAgent: an environment without one was not read from
    # a navigator, so it is no environment (a bot's empty report scores as a missing one).
    if not isinstance(raw, dict):
        return None
    ua = _text(raw.get("ua"), MAX_UA)
    if ua is None:
        return None
    return Env(
        ua=ua,
        platform=_text(raw.get("pf")),
        brands=_brands(raw.get("b")),
        ua_platform=_text(raw.get("bp")),
        mobile=_flag(raw.get("bm")),
        cores=_int(raw.get("hc")),
        languages=_languages(raw.get("lg")),
    )


def parse(raw: str | None) -> Report | None:
    """The report in `raw` (base64url of a JSON object, version 1), or None when absent or bad.

    Never raises. Unknown fields are ignored; a known field of the wrong type or size reads as
    not reported; a report without the page's userAgent and secure-context flag (every browser
    has both, and the page script always sends them), too long, or not JSON is no report at all.
    """
    if not raw or len(raw) > MAX_REPORT or not raw.isascii():
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    page = _env(data)
    if page is None or _flag(data.get("sc")) is None:
        return None  # no page navigator or secure-context flag (every browser has both)
    outer = data.get("o")
    size: tuple[int, int] | None = None
    if isinstance(outer, list) and len(outer) == 2:
        w, h = _int(outer[0]), _int(outer[1])
        size = (w, h) if w is not None and h is not None else None
    return Report(
        page=page,
        worker=_env(data.get("w")),
        webdriver=_flag(data.get("wd")),
        secure=_flag(data.get("sc")),
        chrome=_flag(data.get("ch")),
        plugins=_int(data.get("pl")),
        mimes=_int(data.get("mt")),
        pdf=_flag(data.get("pdf")),
        outer=size,
        notification=_text(data.get("np"), 16),
        permission=_text(data.get("pq"), 16),
        wasm=_flag(data.get("wa")),
        subtle=_flag(data.get("cs")),
    )


# -- what the server saw --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Evidence:
    """A report next to what the request's head claims; what every `Tell` reads.

    :param report: the parsed report, None when absent or malformed.
    :param expected: the page was expected to send one (page-mode verify, or ``expect="always"``).
    :param ua: the User-Agent header; `family`, `engine`, `major`, `platform`, `mobile` its parse.
    :param brands: the ``Sec-CH-UA`` header's brands (None when absent or invalid).
    :param ch_mobile: the ``Sec-CH-UA-Mobile`` header as a bool (None when absent).
    """

    report: Report | None
    expected: bool
    ua: str
    family: str
    engine: str
    major: int | None
    platform: str
    mobile: bool
    brands: Brands | None = None
    ch_mobile: bool | None = None

    @classmethod
    def of(cls, facts: Facts, report: Report | None, *, expected: bool) -> Evidence:
        ua = facts.user_agent
        family, engine, major, platform, mobile, _ = parse_browser(ua[:MAX_UA])
        raw = facts.header("sec-ch-ua")
        mobile_hint = facts.header("sec-ch-ua-mobile")
        return cls(
            report,
            expected,
            ua,
            family,
            engine,
            major,
            platform,
            mobile,
            parse_brands(raw) if raw else None,
            {"?1": True, "?0": False}.get(mobile_hint or ""),
        )

    @property
    def modern(self) -> bool:
        """The UA claims a browser recent enough to have every feature a tell asks about."""
        least = {"blink": 90, "gecko": 90, "webkit": 15}.get(self.engine)
        return least is not None and self.major is not None and self.major >= least


# -- tells --------------------------------------------------------------------------------------
Check = Callable[[Evidence], object]


@dataclass(frozen=True, slots=True)
class Tell:
    """A named check of a report, with its weight and group (the shape of a fingerprint `Signal`).

    :param name: short kebab-case name, shown in explanations (``"webdriver"``).
    :param check: ``(Evidence) -> truthy`` when the tell fires; a string result is kept as
        evidence. It never raises: it only reads parsed values.
    :param weight: added to the score when it fires.
    :param group: tells of one group share the group's cap (`DEFAULT_TELL_CAPS`).
    :param shadow: fire and report, but never count.
    :param doc: one line for docs and explanations.
    """

    name: str
    check: Check
    weight: float
    group: str = ""
    shadow: bool = False
    doc: str = ""

    def with_(self, **changes: object) -> Tell:
        """A copy with, e.g., another weight or ``shadow=True``."""
        return replace(self, **changes)  # type: ignore[arg-type]


def tell(name: str, weight: float, *, group: str = "") -> Callable[[Check], Tell]:
    """Decorator turning a plain function of `Evidence` into a `Tell`."""

    def wrap(func: Check) -> Tell:
        doc = " ".join((func.__doc__ or "").split())
        return Tell(name, func, weight, group, doc=doc)

    return wrap


def _realms(e: Evidence) -> Iterable[Env]:
    if e.report is not None:
        yield e.report.page
        if e.report.worker is not None:
            yield e.report.worker


def _major(brands: Brands, name: str) -> int | None:
    version = next((v for b, v in brands if b == name), None)
    head = (version or "").partition(".")[0]
    return int(head) if head.isdigit() and len(head) <= 5 else None


#: navigator.platform / userAgentData.platform / the UA's platform -> a coarse OS family.
_OS = {
    "Windows": "windows",
    "macOS": "mac",
    "iOS": "apple",
    "Linux": "linux",
    "Android": "linux",
    "Chrome OS": "linux",
    "Chromium OS": "linux",
}


def _os_of_navigator(platform: str) -> str | None:
    if platform.startswith("Win"):
        return "windows"
    if platform.startswith("Mac"):
        return "mac"
    if platform.startswith(("iPhone", "iPad", "iPod")):
        return "apple"
    if platform.startswith(("Linux", "Android", "X11", "CrOS")):
        return "linux"
    return None


def _same_os(claimed: str, seen: str | None) -> bool:
    if seen is None:
        return True
    return claimed == seen or {claimed, seen} == {"apple", "mac"}  # iPad asks for desktop sites


@tell("webdriver", 10.0, group="automation")
def webdriver(e: Evidence) -> object:
    """navigator.webdriver is true: the browser says it is under remote control (W3C WebDriver)."""
    return e.report is not None and e.report.webdriver is True


@tell("headless-ua", 10.0, group="automation")
def headless_ua(e: Evidence) -> object:
    """HeadlessChrome in navigator.userAgent or in userAgentData's brands (page or worker)."""
    for env in _realms(e):
        if env.ua is not None and "HeadlessChrome" in env.ua:
            return "navigator.userAgent"
        if env.brands is not None and any(b == "HeadlessChrome" for b, _ in env.brands):
            return "userAgentData.brands"
    return False


@tell("ua-mismatch", 6.0, group="consistency")
def ua_mismatch(e: Evidence) -> object:
    """navigator.userAgent differs from the User-Agent header the request carried."""
    r = e.report
    return r is not None and r.page.ua is not None and r.page.ua != e.ua[:MAX_UA]


@tell("platform-mismatch", 4.0, group="consistency")
def platform_mismatch(e: Evidence) -> object:
    """The User-Agent's OS disagrees with navigator.platform or userAgentData.platform."""
    claimed = _OS.get(e.platform)
    if e.report is None or claimed is None:
        return False
    page = e.report.page
    if page.platform is not None and not _same_os(claimed, _os_of_navigator(page.platform)):
        return f"navigator.platform={page.platform}"
    if page.ua_platform and not _same_os(claimed, _OS.get(page.ua_platform)):
        return f"userAgentData.platform={page.ua_platform}"
    return False


@tell("brand-mismatch", 4.0, group="consistency")
def brand_mismatch(e: Evidence) -> object:
    """userAgentData disagrees with the User-Agent (missing, empty, or another Chromium version),
    or with the Sec-CH-UA header; or a Firefox/Safari UA exposes userAgentData."""
    r = e.report
    if r is None or r.secure is not True:  # userAgentData lives in secure contexts only
        return False
    brands = r.page.brands
    if e.engine in ("gecko", "webkit"):
        return "userAgentData in a non-Chromium browser" if brands is not None else False
    if e.engine != "blink" or not e.modern:
        return False
    if not brands:
        return "userAgentData missing or empty"
    chromium = _major(brands, "Chromium")
    if chromium is not None and chromium != e.major:
        return f"Chromium {chromium} in userAgentData, {e.major} in the User-Agent"
    if e.brands is not None and set(e.brands) != set(brands):
        return "Sec-CH-UA differs from userAgentData.brands"
    return False


@tell("mobile-mismatch", 3.0, group="consistency")
def mobile_mismatch(e: Evidence) -> object:
    """userAgentData.mobile disagrees with the User-Agent's Mobile token or Sec-CH-UA-Mobile."""
    r = e.report
    if r is None or e.engine != "blink" or r.page.mobile is None:
        return False
    if e.ch_mobile is not None and e.ch_mobile != r.page.mobile:
        return "Sec-CH-UA-Mobile"
    return r.page.mobile != e.mobile


@tell("worker-mismatch", 4.0, group="worker")
def worker_mismatch(e: Evidence) -> object:
    """The worker's navigator (userAgent, platform, userAgentData) differs from the page's."""
    r = e.report
    if r is None or r.worker is None:
        return False
    page, worker = r.page, r.worker
    for what, a, b in (
        ("userAgent", page.ua, worker.ua),
        ("platform", page.platform, worker.platform),
        ("userAgentData.platform", page.ua_platform, worker.ua_platform),
    ):
        if a is not None and b is not None and a != b:
            return what
    if (
        page.brands is not None
        and worker.brands is not None
        and set(page.brands) != set(worker.brands)
    ):
        return "userAgentData.brands"
    return False


@tell("worker-cores-mismatch", 2.0, group="worker")
def worker_cores_mismatch(e: Evidence) -> object:
    """navigator.hardwareConcurrency differs between the page and its worker."""
    return _worker_differs(e, "cores")


@tell("worker-languages-mismatch", 2.0, group="worker")
def worker_languages_mismatch(e: Evidence) -> object:
    """navigator.languages differs between the page and its worker."""
    return _worker_differs(e, "languages")


def _worker_differs(e: Evidence, field: str) -> bool:
    """Both the page and its worker reported `field` (an `Env` field), and they differ."""
    r = e.report
    if r is None or r.worker is None:
        return False
    page, worker = getattr(r.page, field), getattr(r.worker, field)
    return page is not None and worker is not None and page != worker


@tell("worker-features-missing", 2.0, group="worker")
def worker_features_missing(e: Evidence) -> object:
    """A worker of a modern browser in a secure context lacks WebAssembly or crypto.subtle
    (Safari's Lockdown Mode turns WebAssembly off: hence the small weight)."""
    r = e.report
    if r is None or r.worker is None or r.secure is not True or not e.modern:
        return False
    missing = [n for n, v in (("WebAssembly", r.wasm), ("crypto.subtle", r.subtle)) if v is False]
    return ", ".join(missing)


@tell("worker-silent", 3.0, group="worker")
def worker_silent(e: Evidence) -> object:
    """The page reported, but no worker did, although workers solved the puzzle."""
    return e.report is not None and e.report.worker is None


@tell("no-chrome-object", 3.0, group="environment")
def no_chrome_object(e: Evidence) -> object:
    """A Chromium User-Agent (not an Android WebView) without window.chrome."""
    r = e.report
    return r is not None and e.engine == "blink" and "; wv)" not in e.ua and r.chrome is False


@tell("no-plugins", 3.0, group="environment")
def no_plugins(e: Evidence) -> object:
    """Desktop Chrome or Firefox with no plugins or MIME types while its PDF viewer is on."""
    r = e.report
    if r is None or e.mobile or e.engine not in ("blink", "gecko") or not e.modern:
        return False
    return (r.plugins == 0 or r.mimes == 0) and r.pdf is not False


@tell("zero-outer-size", 3.0, group="environment")
def zero_outer_size(e: Evidence) -> object:
    """window.outerWidth or outerHeight is 0 (no real window around the page)."""
    r = e.report
    return r is not None and r.outer is not None and 0 in r.outer


@tell("permissions-inconsistent", 3.0, group="environment")
def permissions_inconsistent(e: Evidence) -> object:
    """Notification.permission is denied while the Permissions API says prompt."""
    r = e.report
    return r is not None and r.notification == "denied" and r.permission == "prompt"


@tell("tells-missing", 6.0, group="missing")
def tells_missing(e: Evidence) -> object:
    """A page-mode answer came without a readable report: the page's script did not send it."""
    return e.expected and e.report is None


DEFAULT_TELLS: tuple[Tell, ...] = (
    webdriver,
    headless_ua,
    ua_mismatch,
    platform_mismatch,
    brand_mismatch,
    mobile_mismatch,
    worker_mismatch,
    worker_cores_mismatch,
    worker_languages_mismatch,
    worker_features_missing,
    worker_silent,
    no_chrome_object,
    no_plugins,
    zero_outer_size,
    permissions_inconsistent,
    tells_missing,
)
#: The most a group adds: inconsistencies alone can reach `deny_at` only across groups.
DEFAULT_TELL_CAPS: Mapping[str, float] = {
    "consistency": 8.0,
    "worker": 6.0,
    "environment": 6.0,
}


# -- the policy ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TellScore:
    """The tells of one answer: the capped total and what fired (the shape of a fingerprint
    `Score`). `refused` is True when the total reached the policy's `deny_at`."""

    score: float
    fired: tuple[tuple[str, float, str, str], ...] = ()  # (tell, weight, group, evidence)
    shadow: tuple[tuple[str, float, str], ...] = ()  # (tell, weight, evidence), not counted
    capped: tuple[tuple[str, float, float], ...] = ()  # (group, raw sum, capped sum)
    reported: bool = False
    refused: bool = False

    @property
    def carried(self) -> int:
        """The score as signed into a clearance: a whole number, 0..99."""
        return max(0, min(99, round(self.score)))

    def detail(self) -> dict[str, Any]:
        """The explanation kept in a verdict's ``detail["tells"]``."""
        out: dict[str, Any] = {"score": self.score, "reported": self.reported}
        if self.fired:
            out["fired"] = self.fired
        if self.shadow:
            out["shadow"] = self.shadow
        if self.capped:
            out["capped"] = self.capped
        return out


_NONE = TellScore(0.0)


class Tells:
    """Which tells count, how much, and what a high score does at verify time.

    :param tells: the tell set (`DEFAULT_TELLS`); ``extra_tells`` are appended.
    :param weights: per-tell weight overrides by name (0 disables a tell).
    :param shadow: names of tells to report but not count (try one on live traffic).
    :param caps: per-group caps (merged over `DEFAULT_TELL_CAPS`).
    :param deny_at: a score at or above this refuses the clearance (reason
        ``automation-tells``); below it the score is signed into the clearance and added to the
        weight of every request that uses it. None: never refuse, only carry.
    :param expect: when a missing report counts (the ``tells-missing`` tell): ``"page"``
        (answers through the interstitial; API clients such as `shieldware.client` send none
        and are not penalised), ``"always"`` (every answer; for sites with no API clients),
        ``"never"``.
    """

    def __init__(
        self,
        *,
        tells: Sequence[Tell] = DEFAULT_TELLS,
        extra_tells: Iterable[Tell] = (),
        weights: Mapping[str, float] | None = None,
        shadow: Iterable[str] = (),
        caps: Mapping[str, float] | None = None,
        deny_at: float | None = 10.0,
        expect: Expect = "page",
    ) -> None:
        errors: list[str] = []
        weights = dict(weights or {})
        shadowed = set(shadow)
        chosen: list[Tell] = []
        seen: set[str] = set()
        for t in (*tells, *extra_tells):
            if t.name in seen:
                errors.append(f"two tells are named {t.name!r}")
            seen.add(t.name)
            if t.name in weights:
                t = t.with_(weight=float(weights[t.name]))
            if t.name in shadowed:
                t = t.with_(shadow=True)
            if t.weight != 0 or t.shadow:
                chosen.append(t)
        unknown = (set(weights) | shadowed) - seen
        if unknown:
            errors.append(f"unknown tell names: {sorted(unknown)}")
        if expect not in ("page", "always", "never"):
            errors.append(f"expect must be 'page', 'always' or 'never', not {expect!r}")
        if deny_at is not None and deny_at <= 0:
            errors.append("deny_at must be positive (or None)")
        if errors:
            raise ConfigurationError("invalid Tells: " + "; ".join(errors))
        self.tells = tuple(chosen)
        self.caps = {**DEFAULT_TELL_CAPS, **(caps or {})}
        self.deny_at = deny_at
        self.expect = expect

    def __repr__(self) -> str:
        return f"Tells(tells={len(self.tells)}, deny_at={self.deny_at}, expect={self.expect!r})"

    def score(self, raw: str | None, facts: Facts, *, api: bool) -> TellScore:
        """Judge the report `raw` sent with an answer; `api` says the answer came in API mode."""
        report = parse(raw)
        expected = self.expect == "always" or (self.expect == "page" and not api)
        if report is None and not expected:
            return _NONE
        return self.judge(Evidence.of(facts, report, expected=expected))

    def judge(self, evidence: Evidence) -> TellScore:
        """Run every tell on `evidence`: fired, shadowed and capped, like fingerprint signals."""
        sums: dict[str, float] = {}
        fired: list[tuple[str, float, str, str]] = []
        shadow: list[tuple[str, float, str]] = []
        for t in self.tells:
            fire(t, evidence, sums, fired, shadow)
        total, capped = apply_caps(sums, self.caps)
        total = round(total, 3)
        refused = self.deny_at is not None and total >= self.deny_at
        return TellScore(
            total,
            tuple(fired),
            tuple(shadow),
            tuple(capped),
            evidence.report is not None,
            refused,
        )


def resolve(value: Tells | bool | None) -> Tells | None:
    """A layer's ``tells=`` argument: None or True -> the defaults, False -> off."""
    if value is None or value is True:
        return Tells()
    if value is False:
        return None
    if isinstance(value, Tells):
        return value
    raise ConfigurationError(f"tells must be a Tells, True, False or None, not {value!r}")
