"""The answer object: what the engine decided, before anyone renders it.

Telegram, the terminal chat and `faqbot ask --json` all render this one
object, so what the bot says cannot drift between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from knowledge.schema import Contact, Language


class Kind(StrEnum):
    """What sort of reply this is; renderers lay each out differently."""

    ANSWER = "answer"  # a confident match: the entry's answer
    DID_YOU_MEAN = "did_you_mean"  # unsure: offer the closest entries
    # the topic is clear but the release does not say what is asked: say so,
    # then what it does say; the entry is offered as the first choice
    NOT_STATED = "not_stated"
    FALLBACK = "fallback"  # nothing close: say so, show topics and the press contact
    GREETING = "greeting"  # only pleasantries ("hola", "thanks"): greet back
    EMPTY = "empty"  # nothing to read (punctuation, whitespace)


@dataclass(frozen=True)
class Link:
    """An entry offered as a button: follow-ups, topics, list items."""

    entry_id: str
    label: str


@dataclass(frozen=True)
class Suggestion:
    """A "did you mean" choice, with the stored question that came closest."""

    entry_id: str
    question: str
    score: float


@dataclass(frozen=True)
class Why:
    """Why the engine answered as it did, for a curator reading logs and reports."""

    matched_question: str | None
    runner_up: str | None
    margin: float
    unknown_words: tuple[str, ...]
    # What the answer policy read, and whether it read only the part after
    # a self-introduction.
    features: dict[str, float] | None = None
    asked_part: bool = False
    # The entry ranked first, answered or not.
    best_entry: str | None = None
    # Read as a follow-up of the previous topic.
    in_context: bool = False


@dataclass(frozen=True)
class Answer:
    """One reply, in one language, ready to render."""

    kind: Kind
    question: str
    language: Language
    text: str
    entry_id: str | None = None
    title: str | None = None
    score: float = 0.0
    # The answer policy's probability that the best entry is the answer, 0..1.
    confidence: float = 0.0
    suggestions: tuple[Suggestion, ...] = ()
    related: tuple[Link, ...] = ()
    topics: tuple[Link, ...] = ()
    contact: Contact | None = None
    why: Why | None = None

    @property
    def matched(self) -> bool:
        return self.kind is Kind.ANSWER

    @property
    def topic(self) -> str | None:
        """The entry this reply is about, for the next message's context: the entry
        answered, or the one whose topic the release does not cover in full."""
        if self.kind is Kind.ANSWER:
            return self.entry_id
        if self.kind is Kind.NOT_STATED and self.suggestions:
            return self.suggestions[0].entry_id
        return None

    def plain_text(self) -> str:
        """The reply as plain text, suggestions and contact included."""
        parts = [self.text]
        if self.suggestions:
            parts.append("\n".join(f"{n}. {s.question}" for n, s in enumerate(self.suggestions, 1)))
        if self.contact is not None and self.kind is Kind.FALLBACK:
            parts.append(contact_lines(self.contact, self.language))
        return "\n\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The `faqbot ask --json` contract."""
        return {
            "question": self.question,
            "matched": self.matched,
            "entry_id": self.entry_id,
            "score": round(self.score, 1),
            "confidence": round(self.confidence, 3),
            "language": self.language,
            "answer": self.plain_text(),
            "suggestions": [
                {"entry_id": s.entry_id, "question": s.question, "score": round(s.score, 1)}
                for s in self.suggestions
            ],
        }


def contact_lines(contact: Contact, language: Language) -> str:
    """The press contact as copyable plain lines."""
    lines = [
        f"{contact.full_name}, {contact.title(language)} ({contact.organisation(language)})",
        *(f"📱 {phone}" for phone in contact.phones),
        f"✉️ {contact.email}",
    ]
    return "\n".join(lines)
