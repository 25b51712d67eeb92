"""Re-vendor the crawler-user-agents pack from its npm tarball (MIT), keeping provenance.

Usage: ``npm pack crawler-user-agents@<v>`` then
``python tests/fingerprint/tools/vendor_packs.py crawler-user-agents-<v>.tgz``.
The npm registry is the only route to the list on this network; the tarball's sha256 is recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import tarfile
from pathlib import Path

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


if __name__ == "__main__":
    main(sys.argv[1])
