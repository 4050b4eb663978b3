"""No shipped file cites an internal working document ("seed 00x"): users cannot look it up.

Every citation must name a public original (docs/sources.md). The pattern matches the ways the
project's working notes were once cited ("seed 003", "seeds 002/004", "seed_002" source ids).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERN = re.compile(r"\bseeds?[ _]0\d\d|\bseeds? 00[0-4]|seeds/0\d\d", re.IGNORECASE)
FOLDERS = ("src", "data/curated", "docs", "examples", "scripts", "benchmarks")
SUFFIXES = {".py", ".csv", ".yaml", ".yml", ".md", ".json", ".html", ".js"}


def test_no_file_cites_a_seed_document() -> None:
    hits: list[str] = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for lineno, line in enumerate(text.splitlines(), 1):
                if PATTERN.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()[:80]}")
    readme = ROOT / "README.md"
    for lineno, line in enumerate(readme.read_text().splitlines(), 1):
        if PATTERN.search(line):
            hits.append(f"README.md:{lineno}")
    assert not hits, "\n".join(hits)
