"""The answer object: what the engine decided, before anyone renders it.

Telegram, the terminal chat and `faqbot ask --json` all render this one
object, so what the bot says cannot drift between them: the engine decides
what is shown (the press contact among it), and every sentence a renderer
shows comes from the answer, from the knowledge base that answered. The
plain-text rendering (the terminal chat, `faqbot ask`, the JSON contract's
`answer`) is here, `Answer.plain`; Telegram's is handlers/render.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from knowledge.contact_details import contact_details
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
class Framing:
    """The bot's own sentences around an answer, in its language, from the knowledge
    base that answered (a reload between answering and rendering cannot mix two)."""

    contact_intro: str = ""  # before the press contact's details
    source_note: str = ""  # after what the release says: where it comes from
    topics_intro: str = ""  # before the topics offered
    related_intro: str = ""  # before the follow-ups offered
    share: str = ""  # the label of the button that shares the answer


@dataclass(frozen=True)
class PlainReply:
    """An answer as plain text, and the entries its numbered choices stand for."""

    # What the answer says: its text, the press contact when shown, the "did
    # you mean" choices (the JSON contract's `answer`, what answers are scored on).
    body: str
    # As the terminal shows it: the title, the body, the follow-ups or topics offered.
    text: str
    choices: tuple[Link, ...]


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
    # The press contact, when the reply shows it (the engine decides, every
    # renderer obeys); with `contact_card`, also as a card to save (Telegram).
    contact: Contact | None = None
    contact_card: bool = False
    framing: Framing = Framing()
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

    @property
    def source_note(self) -> str:
        """The line under a reply that says what the release says, naming it; "" for
        other replies. Telegram and the terminal show it alike."""
        return self.framing.source_note if self.kind in _FROM_THE_RELEASE else ""

    def plain_text(self) -> str:
        """What the reply says, as plain text: `plain().body`."""
        return self.plain().body

    def plain(self) -> PlainReply:
        """The reply as plain text, laid out as Telegram shows it; buttons become
        numbered choices.

        The body (the JSON contract's `answer`) is what the reply says: its text,
        the press contact when shown, and the "did you mean" choices. The terminal
        also shows, as Telegram does, the title above it, the source note under an
        answer from the release, and the follow-ups or topics offered. The source
        note stays out of the body: its words ("ECLAC", "March 2006") would count
        as facts of any answer when answers are scored on the facts they state.
        """
        said = [self.text]
        if self.contact is not None:
            said += [self.framing.contact_intro, contact_lines(self.contact, self.language)]
        choices = tuple(Link(s.entry_id, s.question) for s in self.suggestions)
        offered: list[str] = []
        if choices:
            offered = _numbered(choices)
        elif self.related:
            choices = self.related
            offered = [self.framing.related_intro, *_numbered(choices)]
        elif self.topics:
            choices = self.topics
            offered = [self.framing.topics_intro, *_numbered(choices)]
        body = [*said, *(offered if self.suggestions else ())]
        title = [f"== {self.title} =="] if self.title and self.kind is Kind.ANSWER else []
        shown = [*title, *said, self.source_note, *offered]
        return PlainReply(_lines(body), _lines(shown), choices)

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


# The kinds of reply that say what the release says, under which its source is noted.
_FROM_THE_RELEASE = (Kind.ANSWER, Kind.NOT_STATED)


def _lines(lines: list[str]) -> str:
    return "\n".join(line for line in lines if line)


def _numbered(choices: tuple[Link, ...]) -> list[str]:
    return [f"  [{number}] {link.label}" for number, link in enumerate(choices, 1)]


def contact_lines(contact: Contact, language: Language) -> str:
    """The press contact as copyable plain lines: the details Telegram shows, as it
    lays them out (knowledge/contact_details.py), without its markup."""
    return contact_details(contact, language).shown(lambda field: field.value)
