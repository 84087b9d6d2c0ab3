"""The pictures of the goldens in docs/img: one per golden, each referenced from the docs.

``make screenshots`` draws them (docs/screenshots.py) and lists them in docs/img/goldens.txt; this
checks the set, not the pixels: a golden added without its picture, or a picture whose golden is
gone, or one no page shows, fails here. (Pictures drawn by other means, such as the dashboard's,
are not in the list.)
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
IMAGES = ROOT / "docs" / "img"
DRAWN = set((IMAGES / "goldens.txt").read_text(encoding="utf-8").split())


def test_every_golden_has_a_picture_and_every_picture_a_golden() -> None:
    goldens = {path.relative_to(GOLDEN).with_suffix(".png").as_posix() for path in GOLDEN.rglob("*.json")}
    assert goldens == DRAWN
    assert all((IMAGES / name).exists() for name in DRAWN)


def test_every_picture_of_a_golden_is_referenced_from_the_docs() -> None:
    docs = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "docs").glob("*.md"))
    referenced = set(re.findall(r"img/([^)\s*]+\.png)", docs))
    assert DRAWN - referenced == set()
