"""What the handlers keep in the question log and read back from it.

The handlers say here what they need, as Protocols with only the methods
they call, and the application provides it (`bot.storage.Recorder`,
`bot.reporting.LoggedReviews`): handlers/ never imports bot/. What crosses
the boundary is plain data, frozen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Stats:
    """What /stats shows, counted by the question log."""

    asked_day: int
    answered_day: int
    asked_week: int
    answered_week: int
    top_entries: list[tuple[str, int]]  # most asked first; ties: the first asked first
    top_unanswered: list[tuple[str, int]]
    votes: dict[str, tuple[int, int]]  # entry id -> (up, down)


@dataclass(frozen=True)
class ReviewItem:
    """One group of similar questions that the knowledge base does not serve well."""

    text: str  # the group's most asked wording, normalised as logged
    language: str
    count: int
    reason: str  # "unanswered" | "down-voted": a code, each interface words it
    closest_id: str | None
    score: float
    chosen_id: str | None  # the entry users picked from "did you mean", if any
    question_ids: tuple[int, ...]
    # Every wording in the group (`text` first): a review decision settles them all.
    wordings: tuple[str, ...] = ()


class QuestionLog(Protocol):
    """The record of questions, votes and choices, as the handlers use it.

    Statistics are worth less than the answer: the writes and `language` never
    wait for the database and never fail because of it (a record it refuses is
    counted and logged by the application), so a handler calls them on the
    event loop, in the middle of an answer. `stats` waits for the database:
    call it in a worker thread.
    """

    def log_question(
        self,
        user_id: int,
        question: str,
        language: str,
        kind: str,
        entry_id: str | None,
        closest_id: str | None,
        score: float,
    ) -> int:
        """Record a question; returns its id at once (the buttons of its reply carry it)."""
        ...

    def log_feedback(
        self, user_id: int, entry_id: str, vote: int, question_id: int | None = None
    ) -> None:
        """Record a 👍/👎; its question is kept only if the voter asked it."""
        ...

    def log_choice(self, user_id: int, question_id: int, entry_id: str) -> bool:
        """Record a "did you mean" choice, kept only for the presser's own question."""
        ...

    def set_language(self, user_id: int, language: str) -> None: ...

    def language(self, user_id: int) -> str | None:
        """The language the user chose with /language, if any."""
        ...

    def user_hash(self, user_id: int) -> str:
        """The user id as stored: hashed, for log lines too."""
        ...

    def mark_reviewed(self, normalised: str, action: str) -> None: ...

    def stats(self, now: float) -> Stats: ...


class ReviewQueue(Protocol):
    """What /review walks through: the questions the knowledge base does not serve well."""

    def review_items(self, since: float) -> list[ReviewItem]:
        """Unanswered and down-voted questions since `since`, grouped, biggest first.

        It waits for the database: call it in a worker thread.
        """
        ...
