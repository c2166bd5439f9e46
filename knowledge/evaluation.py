"""Measure the engine on a labelled question set (`faqbot eval FILE`).

Two formats are read.

Tab-separated (`.tsv`, UTF-8, `#` starts a comment line), labelled by entry:

    <expected entry id, or - for out of scope> TAB <en|es|any> TAB <question>

`any` is for a message that is the same in both languages ("Puebla").

Facts (`.yaml`), labelled by what a right answer must say, as in
`field_questions.yaml`: a list of `{q, lang, kind: in|out, facts, style}`.
`facts` is a list of groups; a right answer holds at least one alternative of
every group. Alternatives are compared case-, accent- and dash-blind; one that
starts with a letter or digit must start a word (so it works as a stem), one
that ends in a digit may not run on into another digit, and one made of six
digits or more (and spaces, brackets, + . /) is a phone number, found by its
digits alone in any run of digits and separators.

An in-scope question is answered rightly when the engine answers it (not a
"did you mean") with the expected entry, or with an answer holding the facts;
answered wrongly when it answers without them. An out-of-scope one is refused
when the engine does not answer it ("did you mean" or the fallback).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.answer import Answer
from knowledge.engine import Engine

OUT_OF_SCOPE = "-"
# The policy thresholds the trade-off table shows.
TRADE_OFF_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class LabelError(ValueError):
    """A line of a question set that does not follow the format."""


@dataclass(frozen=True)
class Labelled:
    """One labelled message: by the entry that answers it, or by the facts an answer needs."""

    question: str
    language: str  # en, es, or any
    in_scope: bool
    expected: str | None = None
    facts: tuple[tuple[str, ...], ...] = ()
    style: str = "-"
    line: int = 0


# Facts --------------------------------------------------------------------------

_DASHES = re.compile("[\u002d\u2010-\u2015\u2212\ufe63\uff0d]")
_SPACES = re.compile(r"\s+")
_PHONE = re.compile(r"^[\d\s()+./]+$")
_DIGIT_RUN = re.compile(r"[+(]?\d[\d\s().+/\-\u2010-\u2015]*\d")


def folded_for_facts(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return _SPACES.sub(" ", _DASHES.sub(" ", text)).strip()


def holds(alternative: str, text: str) -> bool:
    """Whether an answer states one alternative of a fact (rules in the module docstring)."""
    wanted = folded_for_facts(alternative)
    if not wanted:
        return False
    if _PHONE.match(wanted) and sum(ch.isdigit() for ch in wanted) >= 6:
        digits = re.sub(r"\D", "", wanted)
        return any(digits in re.sub(r"\D", "", run) for run in _DIGIT_RUN.findall(text))
    body = r"\s?".join(re.escape(part) for part in wanted.split(" "))
    lead = r"(?<!\w)" if wanted[0].isalnum() else ""
    trail = r"(?!\d)" if wanted[-1].isdigit() else ""
    return re.search(lead + body + trail, folded_for_facts(text)) is not None


def facts_missing(facts: Sequence[Sequence[str]], text: str) -> list[tuple[str, ...]]:
    return [tuple(group) for group in facts if not any(holds(alt, text) for alt in group)]


# Reading sets ---------------------------------------------------------------------


def read_labelled(path: str | Path, known_ids: Iterable[str]) -> list[Labelled]:
    """A labelled set in either format, by the file's suffix."""
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        return read_facts_set(path)
    return read_tsv_set(path, known_ids)


def read_tsv_set(path: Path, known_ids: Iterable[str]) -> list[Labelled]:
    known = set(known_ids)
    items = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
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
        in_scope = expected != OUT_OF_SCOPE
        items.append(
            Labelled(question, language, in_scope, expected if in_scope else None, line=number)
        )
    return items


def read_facts_set(path: Path) -> list[Labelled]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise LabelError(f"{path}: not valid YAML: {error}") from None
    if isinstance(data, dict):
        data = data.get("questions")
    if not isinstance(data, list) or not data:
        raise LabelError(f"{path}: expected a non-empty list of questions")
    items = []
    for number, item in enumerate(data, 1):
        where = f"{path}: item {number}"
        if not isinstance(item, dict):
            raise LabelError(f"{where}: not a mapping")
        question, language, kind = item.get("q"), item.get("lang"), item.get("kind")
        facts = item.get("facts") or []
        if not isinstance(question, str) or not question.strip():
            raise LabelError(f"{where}: q must be a non-empty text")
        if language not in ("en", "es") or kind not in ("in", "out"):
            raise LabelError(f"{where}: lang must be en or es, kind in or out")
        if not isinstance(facts, list) or not all(
            isinstance(group, list) and group and all(isinstance(alt, str) for alt in group)
            for group in facts
        ):
            raise LabelError(f"{where}: facts must be a list of lists of texts")
        if (kind == "in") != bool(facts):
            raise LabelError(f"{where}: an in-scope item needs facts, an out-of-scope one none")
        items.append(
            Labelled(
                question.strip(),
                language,
                kind == "in",
                facts=tuple(tuple(group) for group in facts),
                style=str(item.get("style", "-")),
                line=number,
            )
        )
    return items


def right_answer(item: Labelled, entry_id: str | None, text: str) -> bool:
    """Whether answering this item with that entry's text would be right."""
    if not item.in_scope or entry_id is None:
        return False
    if item.expected is not None:
        return entry_id == item.expected
    return not facts_missing(item.facts, text)


# Measuring ------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the engine did with one labelled message."""

    item: Labelled
    answer: Answer
    # The entry the engine ranked first, whether answering with it would be
    # right, and the policy's probability that it is.
    top_entry: str | None
    top_right: bool

    @property
    def answered(self) -> bool:
        return self.answer.matched

    @property
    def verdict(self) -> str:
        """right / wrong / choices-right / not-answered (in scope); refused / answered (out)."""
        if not self.item.in_scope:
            return "answered" if self.answered else "refused"
        if self.answered:
            return "right" if self.top_right else "wrong"
        if self.answer.suggestions and self.top_right:
            return "choices-right"
        return "not-answered"

    @property
    def language_right(self) -> bool | None:
        return None if self.item.language == "any" else self.answer.language == self.item.language


def measure(engine: Engine, items: Iterable[Labelled]) -> list[Outcome]:
    outcomes = []
    for item in items:
        answer = engine.ask(item.question)
        top = answer.entry_id or (answer.why.best_entry if answer.why else None)
        text = ""
        if top is not None:
            opened = answer if answer.matched else engine.open(top, answer.language)
            text = opened.plain_text() if opened is not None else ""
        outcomes.append(Outcome(item, answer, top, right_answer(item, top, text)))
    return outcomes


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
    """Tallies by group ("all", "en", "es", "style:paraphrase", ...)."""

    outcomes: list[Outcome]
    right: dict[str, Tally] = field(default_factory=dict)
    wrong: dict[str, Tally] = field(default_factory=dict)
    choices_right: dict[str, Tally] = field(default_factory=dict)
    refused: dict[str, Tally] = field(default_factory=dict)
    language: dict[str, Tally] = field(default_factory=dict)

    @property
    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict not in ("right", "refused")]


def evaluate(engine: Engine, items: Iterable[Labelled]) -> Report:
    return report_of(measure(engine, items))


def report_of(outcomes: list[Outcome]) -> Report:
    report = Report(outcomes)
    for outcome in outcomes:
        item = outcome.item
        groups = ["all", item.language]
        if item.style != "-":
            groups.append(f"style:{item.style}")
        for group in groups:
            if item.in_scope:
                report.right.setdefault(group, Tally()).add(outcome.verdict == "right")
                report.wrong.setdefault(group, Tally()).add(outcome.verdict == "wrong")
                report.choices_right.setdefault(group, Tally()).add(
                    outcome.verdict == "choices-right"
                )
            else:
                report.refused.setdefault(group, Tally()).add(outcome.verdict == "refused")
            if outcome.language_right is not None:
                report.language.setdefault(group, Tally()).add(outcome.language_right)
    return report


def trade_off(outcomes: Sequence[Outcome]) -> list[tuple[float, float, float, float]]:
    """(threshold, answered right, answered wrong, out-of-scope refused) as the policy's
    answer threshold moves, from each outcome's probability and top entry."""
    rows = []
    inside = [o for o in outcomes if o.item.in_scope]
    outside = [o for o in outcomes if not o.item.in_scope]
    for threshold in TRADE_OFF_THRESHOLDS:
        answered = [o for o in inside if o.answer.confidence >= threshold]
        right = sum(o.top_right for o in answered)
        refused = sum(o.answer.confidence < threshold for o in outside)
        rows.append(
            (
                threshold,
                right / max(len(inside), 1),
                (len(answered) - right) / max(len(inside), 1),
                refused / max(len(outside), 1),
            )
        )
    return rows


def format_report(report: Report, show_misses: bool = True) -> str:
    """One row per group (all, each language, each style), one column per measure."""
    styles = sorted(g for g in {*report.right, *report.refused} if g.startswith("style:"))
    columns = (
        ("answered right", report.right),
        ("answered wrong", report.wrong),
        ("choices, right 1st", report.choices_right),
        ("out-of-scope refused", report.refused),
        ("answer language", report.language),
    )
    lines = [f"{'':<12}" + "".join(f"{name:>22}" for name, _ in columns)]
    for group in ["all", "en", "es", "any", *styles]:
        cells = [str(table[group]) if group in table else "-" for _, table in columns]
        if all(cell == "-" for cell in cells):
            continue
        lines.append(f"{group.removeprefix('style:'):<12}" + "".join(f"{c:>22}" for c in cells))
    lines.append("")
    lines.append("as the answer threshold moves (policy probability: right, wrong, refused):")
    for threshold, right, wrong, refused in trade_off(report.outcomes):
        lines.append(
            f"  {threshold:.2f}: {100 * right:5.1f}% right  {100 * wrong:5.1f}% wrong  "
            f"{100 * refused:5.1f}% refused"
        )
    if show_misses and report.misses:
        lines.append("")
        lines.append(f"misses ({len(report.misses)}):")
        for miss in report.misses:
            answer = miss.answer
            got = answer.entry_id if answer.matched else f"({answer.kind})"
            wanted = miss.item.expected or ("facts" if miss.item.in_scope else "no answer")
            lines.append(
                f"  line {miss.item.line}: {miss.item.question!r} expected {wanted} got {got} "
                f"first {miss.top_entry or '-'} p={answer.confidence:.2f} [{answer.language}] "
                f"{miss.verdict}"
            )
    return "\n".join(lines)
