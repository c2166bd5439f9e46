"""Shared helpers for the knowledge base tests: the bundled file, and where things sit in it.

Tests that break the file start from the bundled text, change one thing, and
then look up where that thing sits in the text they built, so an edit of
faq.yaml elsewhere never moves an expected line number.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import yaml

from knowledge.check import check_file
from knowledge.engine import Engine, Loaded
from knowledge.loader import bundled_path
from knowledge.schema import Entry

ROOT = Path(__file__).resolve().parents[2]
PRESS_RELEASE_DATA = ROOT / "tests" / "data" / "press_release.yaml"
# Where the original press release may sit: beside the clone, as in CI.
SOURCE_BESIDE_CLONE = ROOT.parent / "shared" / "source" / "000_7cd4f29d95316894.txt"
ENTRIES_DOC = ROOT / "docs" / "entries.md"
DEV_SET = ROOT / "tests" / "data" / "dev.tsv"


@cache
def press_release() -> dict:
    """The press release's facts and sentences, kept as this project's own data."""
    return yaml.safe_load(PRESS_RELEASE_DATA.read_text(encoding="utf-8"))


def source_document() -> Path | None:
    """The original press release, if this machine has it (FAQBOT_SOURCE, or beside the clone)."""
    configured = os.environ.get("FAQBOT_SOURCE")
    path = Path(configured) if configured else SOURCE_BESIDE_CLONE
    return path if path.is_file() else None


def bundled_text() -> str:
    """The bundled knowledge base file, as a curator would open it."""
    return bundled_path().read_text(encoding="utf-8")


@cache
def bundled_loaded() -> Loaded:
    """The bundled knowledge base, checked and built once per test session (it is immutable)."""
    result = check_file(bundled_path())
    assert result.loaded is not None, "\n".join(str(problem) for problem in result.problems)
    return result.loaded


def bundled_engine() -> Engine:
    """A fresh engine on the bundled knowledge base (engines can be swapped, so not shared)."""
    return Engine(bundled_loaded())


def bundled_entry(entry_id: str) -> Entry:
    entry = bundled_loaded().knowledge.entry(entry_id)
    assert entry is not None, f"the bundled knowledge base has no entry {entry_id!r}"
    return entry


def replace_once(text: str, old: str, new: str) -> str:
    """Replace a snippet that must occur exactly once, so a changed file fails loudly here."""
    count = text.count(old)
    assert count == 1, f"expected exactly one {old!r} in the text, found {count}"
    return text.replace(old, new)


def entry_span(text: str, entry_id: str) -> tuple[int, int]:
    """Start and end offsets of one entry's block (`  - id: ...` up to the next entry)."""
    start = text.index(f"\n  - id: {entry_id}\n") + 1
    following = text.find("\n  - id: ", start)
    return start, len(text) if following == -1 else following + 1


def position_of(text: str, needle: str, after: int = 0) -> tuple[int, int]:
    """1-based line and column of the first `needle` at or after offset `after`."""
    offset = text.index(needle, after)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def position_in_entry(text: str, entry_id: str, needle: str) -> tuple[int, int]:
    """Where `needle` first occurs inside one entry's block."""
    start, end = entry_span(text, entry_id)
    assert needle in text[start:end], f"{needle!r} is not in entry {entry_id!r}"
    return position_of(text, needle, start)
