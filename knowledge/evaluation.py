"""Measure the engine on a labelled question set (`faqbot eval FILE`).

The file format (tab-separated, UTF-8, `#` starts a comment line):

    <expected entry id, or - for out of scope> TAB <en|es|any> TAB <question>

`any` is for a message that is the same in both languages ("Puebla").
In-scope questions count as right when the engine answers them confidently
with the expected entry; out-of-scope ones when it does not answer
confidently (a "did you mean" or the fallback is fine). The reply language is
right when it is the labelled one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.answer import Answer
from knowledge.engine import Engine

OUT_OF_SCOPE = "-"


class LabelError(ValueError):
    """A line of a question set that does not follow the format."""


@dataclass(frozen=True)
class Labelled:
    expected: str | None
    language: str
    question: str
    line: int


@dataclass(frozen=True)
class Miss:
    item: Labelled
    answer: Answer


@dataclass
class Tally:
    right: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.right += ok
        self.total += 1

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{100 * self.rate:5.1f}% ({self.right}/{self.total})"


@dataclass
class Report:
    in_scope: dict[str, Tally] = field(default_factory=dict)
    out_of_scope: dict[str, Tally] = field(default_factory=dict)
    language: dict[str, Tally] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)

    def overall(self, table: dict[str, Tally]) -> Tally:
        total = Tally()
        for tally in table.values():
            total.right += tally.right
            total.total += tally.total
        return total


def read_labelled(path: str | Path, known_ids: Iterable[str]) -> list[Labelled]:
    known = set(known_ids)
    items = []
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) != 3:
            raise LabelError(f"{path}:{number}: expected 3 tab-separated fields, got {len(parts)}")
        expected, language, question = (part.strip() for part in parts)
        if expected != OUT_OF_SCOPE and expected not in known:
            raise LabelError(f"{path}:{number}: unknown entry id {expected!r}")
        if language not in ("en", "es", "any"):
            raise LabelError(f"{path}:{number}: language must be en, es or any")
        items.append(
            Labelled(None if expected == OUT_OF_SCOPE else expected, language, question, number)
        )
    return items


def evaluate(engine: Engine, items: Iterable[Labelled]) -> Report:
    report = Report()
    for item in items:
        answer = engine.ask(item.question)
        group = item.language if item.language != "any" else "any"
        if item.expected is None:
            ok = not answer.matched
            report.out_of_scope.setdefault(group, Tally()).add(ok)
        else:
            ok = answer.matched and answer.entry_id == item.expected
            report.in_scope.setdefault(group, Tally()).add(ok)
        if not ok:
            report.misses.append(Miss(item, answer))
        if item.language != "any":
            report.language.setdefault(group, Tally()).add(answer.language == item.language)
    return report


def format_report(report: Report) -> str:
    lines = ["                       en               es               any              all"]
    for name, table in (
        ("in-scope top-1", report.in_scope),
        ("out-of-scope rejected", report.out_of_scope),
        ("answer language", report.language),
    ):
        cells = [str(table[g]) if table.get(g, Tally()).total else "-" for g in ("en", "es", "any")]
        cells.append(str(report.overall(table)))
        lines.append(f"{name:<22} " + " ".join(f"{cell:<16}" for cell in cells))
    if report.misses:
        lines.append("")
        lines.append(f"misses ({len(report.misses)}):")
        for miss in report.misses:
            got = miss.answer.entry_id if miss.answer.matched else f"({miss.answer.kind})"
            best = miss.answer.suggestions[0].entry_id if miss.answer.suggestions else "-"
            lines.append(
                f"  line {miss.item.line}: {miss.item.question!r} expected "
                f"{miss.item.expected or 'no answer'} got {got} score {miss.answer.score:.0f} "
                f"[{miss.answer.language}] closest {best}"
            )
    return "\n".join(lines)
