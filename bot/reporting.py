"""What the curator should look at next: questions the bot could not answer well.

Two kinds of evidence come from the log: questions the bot did not answer
with confidence (it offered "did you mean" or fell back), and answers users
voted down. The same need is typed many ways ("who do i phone", "who do i
phone about the reprot"), so similar questions are grouped and counted as
one item; the biggest groups are the most useful to fix first.

Each group is re-ranked by the knowledge base that is live now, since it may
have changed since the question was asked. When users picked an entry from
the "did you mean" buttons, that choice says more than any score, so it
becomes the suggested entry.

`/review` (Telegram) and `faqbot report` (command line) both read this.
SQLite does the counting (`Storage.review_wordings`: GROUP BY over an index,
LIMIT): only the most asked wordings and the ids of the groups shown reach
Python, so the cost does not grow with every row of the log. The bot runs it
in a worker thread.
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from rapidfuzz import fuzz, process

from bot.config import Config
from bot.storage import DAY, Storage, StorageError, Wording
from handlers.records import ReviewItem
from knowledge.answer import Answer, Kind
from knowledge.editing import yaml_quoted
from knowledge.engine import Engine

__all__ = ["LoggedReviews", "print_report", "review_items"]

# Two questions at least this similar (rapidfuzz token_set_ratio) are one need.
GROUP_SIMILARITY = 85.0
# Grouping compares each wording with every group so far: only the most asked
# wordings are grouped, so that /review costs the same on the event loop however
# big the log is (20,000 different wordings took minutes). A wording asked once,
# below the 500 most asked, is not what a curator fixes first.
MAX_GROUPED_WORDINGS = 500
# `faqbot report` shows more than a /review session walks through.
REPORT_LIMIT = 200
# Longer questions are cut in the table (the CSV has them whole).
TABLE_QUESTION_WIDTH = 60
# Kinds of logged question with nothing for a curator to fix.
_NOT_QUESTIONS = frozenset({str(Kind.GREETING), str(Kind.EMPTY)})
_CHOICES_BATCH = 500


class ReviewSource(Protocol):
    """The reads a review needs: `Storage`, or the bot's `Recorder`."""

    def review_wordings(
        self, since: float, limit: int, skip_kinds: Iterable[str]
    ) -> list[Wording]: ...

    def wording_ids(
        self, since: float, keys: list[tuple[str, bool, str]], skip_kinds: Iterable[str]
    ) -> dict[tuple[str, bool, str], list[int]]: ...

    def choices_for(self, question_ids: list[int]) -> dict[int, str]: ...


@dataclass
class _Group:
    """Questions gathered under one representative wording, while grouping."""

    text: str
    language: str
    down_voted: bool
    wordings: list[Wording] = field(default_factory=list)
    count: int = 0
    latest: float = 0.0


def review_items(
    storage: ReviewSource, engine: Engine, since: float, limit: int = 20
) -> list[ReviewItem]:
    """Unanswered and down-voted questions since `since`, grouped, biggest group first."""
    wordings = storage.review_wordings(since, MAX_GROUPED_WORDINGS, _NOT_QUESTIONS)
    groups = sorted(_group(wordings), key=lambda group: (-group.count, -group.latest))
    groups = groups[:limit]
    found = storage.wording_ids(
        since, [wording.key for group in groups for wording in group.wordings], _NOT_QUESTIONS
    )
    group_ids = [[i for w in group.wordings for i in found.get(w.key, [])] for group in groups]
    ids = [i for each in group_ids for i in each]
    choices: dict[int, str] = {}
    for start in range(0, len(ids), _CHOICES_BATCH):  # SQLite caps the ? marks per query
        choices.update(storage.choices_for(ids[start : start + _CHOICES_BATCH]))
    pairs = zip(groups, group_ids, strict=True)
    return [_item(group, each, engine, choices) for group, each in pairs]


@dataclass(frozen=True)
class LoggedReviews:
    """/review's items (`handlers.records.ReviewQueue`): the question log's, ranked by the
    engine that is live when they are asked for."""

    storage: ReviewSource
    engine: Engine

    def review_items(self, since: float) -> list[ReviewItem]:
        return review_items(self.storage, self.engine, since)


def _group(wordings: list[Wording]) -> list[_Group]:
    """Greedy grouping: each wording joins the first similar group, or starts one.

    Identical wordings are counted first and the most frequent ones seed the
    groups, so a group is named after the way most people asked. Languages
    stay apart (the suggestion goes into one language's list), and so do
    down-voted answers, which need a different fix than unanswered questions.
    Only the `MAX_GROUPED_WORDINGS` most asked wordings are grouped.
    """
    ordered = sorted(wordings, key=lambda w: (-w.count, -w.latest, w.text))
    groups: dict[tuple[str, bool], list[_Group]] = defaultdict(list)
    for wording in ordered[:MAX_GROUPED_WORDINGS]:
        language, down, text = wording.key
        existing = groups[(language, down)]
        match = process.extractOne(
            text,
            [group.text for group in existing],
            scorer=fuzz.token_set_ratio,
            score_cutoff=GROUP_SIMILARITY,
        )
        if match is None:
            group = _Group(text, language, down)
            existing.append(group)
        else:
            group = existing[match[2]]
        group.wordings.append(wording)
        group.count += wording.count
        group.latest = max(group.latest, wording.latest)
    return [group for per_key in groups.values() for group in per_key]


def _item(group: _Group, ids: list[int], engine: Engine, choices: dict[int, str]) -> ReviewItem:
    """Re-rank a group with the live knowledge base; users' choices override the score."""
    answer = engine.ask(group.text)
    closest_id, score = _closest(answer)
    chosen = Counter(choices[i] for i in ids if i in choices)
    chosen_id = None
    if chosen:
        # most_common breaks ties by first seen; sorting first makes that the smallest id.
        chosen_id = Counter(dict(sorted(chosen.items()))).most_common(1)[0][0]
        if chosen_id != closest_id:
            closest_id, score = chosen_id, _score_of(answer, chosen_id)
    return ReviewItem(
        text=group.text,
        language=group.language,
        count=len(ids),
        reason="down-voted" if group.down_voted else "unanswered",
        closest_id=closest_id,
        score=round(score, 1),
        chosen_id=chosen_id,
        question_ids=tuple(sorted(ids)),
        wordings=tuple(wording.text for wording in group.wordings),
    )


def _closest(answer: Answer) -> tuple[str | None, float]:
    """The entry the engine answers with, or its best suggestion; None when it falls back."""
    if answer.kind is Kind.ANSWER and answer.entry_id is not None:
        return answer.entry_id, answer.score
    if answer.suggestions:
        return answer.suggestions[0].entry_id, answer.suggestions[0].score
    return None, answer.score


def _score_of(answer: Answer, entry_id: str) -> float:
    """The live score of one entry for the question, 0 when the engine does not offer it."""
    if answer.entry_id == entry_id:
        return answer.score
    for suggestion in answer.suggestions:
        if suggestion.entry_id == entry_id:
            return suggestion.score
    return 0.0


# faqbot report ------------------------------------------------------------


def print_report(
    config: Config, engine: Engine, since_days: int, output: str, suggest: bool
) -> int:
    """`faqbot report`: the review items as a table or CSV, optionally as YAML to paste."""
    if since_days < 1:
        print("faqbot: --since must be at least 1 day", file=sys.stderr)
        return 2
    path = config.storage.path
    if not path.exists():
        # Opening would create an empty database: almost always a wrong path.
        print(
            f"faqbot: {path}: no database there (check [storage] path in the config)",
            file=sys.stderr,
        )
        return 2
    try:
        storage = Storage(path, config.storage.retention_days)
    except StorageError as error:
        print(f"faqbot: {error}", file=sys.stderr)
        return 2
    try:
        items = review_items(storage, engine, time.time() - since_days * DAY, REPORT_LIMIT)
    finally:
        storage.close()
    if not items:
        print(f"No unanswered or down-voted questions in the last {since_days} days.")
        return 0
    if output == "csv":
        _print_csv(items)
    else:
        _print_table(items)
    if suggest:
        print()
        _print_suggestions(items)
    return 0


def _print_table(items: list[ReviewItem]) -> None:
    header = ("count", "reason", "question", "closest entry", "score")
    rows = [
        (
            str(item.count),
            item.reason,
            _shorten(item.text, TABLE_QUESTION_WIDTH),
            item.closest_id or "-",
            f"{item.score:.0f}",
        )
        for item in items
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    right = {0, 4}  # numbers line up on the right
    for row in (header, *rows):
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip())


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_csv(items: list[ReviewItem]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(("count", "reason", "language", "question", "closest_id", "score", "chosen_id"))
    for item in items:
        writer.writerow(
            (
                item.count,
                item.reason,
                item.language,
                item.text,
                item.closest_id or "",
                f"{item.score:.1f}",
                item.chosen_id or "",
            )
        )


def _print_suggestions(items: list[ReviewItem]) -> None:
    """YAML list items to paste under each entry's questions, grouped per entry and language.

    A down-voted answer's closest entry is the one that answered wrongly, so
    it is only a target when users chose it; otherwise the curator decides.
    """
    targets: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in items:
        target = item.chosen_id or (None if item.reason == "down-voted" else item.closest_id)
        targets[(target or "?", item.language)].append(item.text)
    for (entry_id, language), texts in sorted(
        targets.items(), key=lambda pair: (pair[0][0] == "?", pair[0])
    ):
        note = "" if entry_id != "?" else "  no clear entry: choose one"
        print(f"# entry: {entry_id}  (questions.{language}){note}")
        for text in texts:
            print(f"    - {yaml_quoted(text)}")
