"""The knowledge base as data: what the YAML file becomes once it has been checked.

Everything here is frozen: a loaded knowledge base is shared by every
conversation at once and replaced whole on reload, never edited in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "es")


def known_language(code: str | None) -> Language | None:
    """`code` when it is one of the bot's languages ("en", "es"), else None.

    For codes from outside (button data, the database, a command's argument):
    what comes back is checked, so the type says so.
    """
    for language in LANGUAGES:
        if code == language:
            return language
    return None


# The kinds of fact a question may ask for and an entry may hold (`holds`);
# knowledge.question_kind tells them from a question's words.
KINDS = ("place", "time", "who", "leader", "number", "outcome", "later")

# Commands that open one entry, the same in Telegram and the terminal chat.
# The checker makes sure each of these entries exists.
COMMAND_ENTRIES: dict[str, str] = {
    "recommendations": "recommendations",
    "forums": "forums",
    "event": "event",
    "document": "document",
    "contact": "contact",
}

# The bot's own sentences; the file must give each in both languages.
TEXT_KEYS = (
    "greeting",
    "you_are_welcome",
    "help",
    "topics_intro",
    "did_you_mean",
    "fallback",
    "contact_intro",
    "non_text",
    "empty_question",
    "language_set",
    "language_usage",
    "feedback_thanks",
    "button_expired",
    "share",
    "related",
    "admin_only",
    "reload_ok",
    "reload_failed",
    "source_note",
    "chat_quit_hint",
    "inline_hint",
    "bot_description",
    "bot_short_description",
    "cmd_start",
    "cmd_help",
    "cmd_recommendations",
    "cmd_forums",
    "cmd_event",
    "cmd_document",
    "cmd_contact",
    "cmd_language",
    "admin_cmd_reload",
    "admin_cmd_stats",
    "admin_cmd_review",
    "review_empty",
    "review_heading",
    "review_closest",
    "review_pick",
    "review_ignore",
    "review_added",
    "review_ignored",
    "review_not_added",
    "review_expired",
    "review_done",
    "review_reason_unanswered",
    "review_reason_down_voted",
    "review_reason_chosen",
    "stats_questions",
    "stats_period",
    "stats_day",
    "stats_week",
    "stats_top_entries",
    "stats_top_unanswered",
    "stats_feedback",
    "claim_yes",
    "claim_no",
    "claim_not_listed",
    "not_stated_place",
    "not_stated_time",
    "not_stated_who",
    "not_stated_number",
    "not_stated_outcome",
    "not_stated_later",
    "not_stated_leader",
    "admin_private_only",
    "reload_warnings",
)

# Texts that Telegram limits in length (its Bot API limits for command
# descriptions and the bot's descriptions); a longer one would fail at start.
TEXT_MAX_CHARS: dict[str, int] = {
    **{key: 256 for key in TEXT_KEYS if key.startswith(("cmd_", "admin_cmd_"))},
    "bot_description": 512,
    "bot_short_description": 120,
}

# The placeholders a text may use (written {name}); any other is an error,
# since the bot would fail formatting it.
TEXT_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "reload_ok": frozenset({"entries", "questions"}),
    "review_heading": frozenset({"number", "total", "count", "reason"}),
    "review_closest": frozenset({"entry", "score"}),
    "review_reason_chosen": frozenset({"entry"}),
    "stats_period": frozenset({"period", "asked", "answered", "rate"}),
    "claim_no": frozenset({"named"}),
    "claim_not_listed": frozenset({"named"}),
    **{f"not_stated_{kind}": frozenset({"title"}) for kind in KINDS},
}


@dataclass(frozen=True)
class Localized:
    """One text in both languages."""

    en: str
    es: str

    def __call__(self, language: Language) -> str:
        return self.es if language == "es" else self.en


@dataclass(frozen=True)
class Entry:
    """One answer and the ways people ask for it."""

    id: str
    topic: str
    title: Localized
    questions: dict[Language, tuple[str, ...]]
    keywords: dict[Language, tuple[str, ...]]
    answer: Localized
    related: tuple[str, ...] = ()
    source: tuple[int, ...] = ()
    # Question words ("when", "donde"), folded, that alone open this entry.
    question_words: tuple[str, ...] = ()
    # The kinds of fact its answer holds (knowledge.question_kind.KINDS): a
    # question asking for another kind is one the release does not answer.
    holds: tuple[str, ...] = ()
    # The values its answer states, by kind (knowledge.claims.VALUE_KINDS):
    # canonical country and city names, years, session numbers.
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The kinds whose values are all there is (the session's one city): a
    # value of such a kind the entry does not state is contradicted. Only
    # kinds the curator lists under `values:` and does not mark `partial`; a
    # value the answer merely mentions ("the other forum, in Mexico") proves
    # nothing about what the entry's subject is not.
    complete_kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Concept:
    """The words people use for one of the document's terms, in both languages.

    "spokesperson", "press office" and "portavoz" all mean the press contact:
    the matcher reads every term of a concept as the same word, in stored
    questions, answers and messages alike, so a Spanish question reaches an
    entry through its English words and a paraphrase through the document's.
    """

    id: str
    terms: dict[Language, tuple[str, ...]]
    # How much its words weigh next to their rarity alone: less than 1 for
    # words that point at the source ("the report says…") rather than a topic.
    weight: float = 1.0


@dataclass(frozen=True)
class Topic:
    """A button on the topic keyboard and the entry it opens."""

    id: str
    entry: str
    label: Localized


@dataclass(frozen=True)
class Contact:
    """The press contact, enough to build a phone's contact card."""

    first_name: str
    last_name: str
    title: Localized
    organisation: Localized
    phones: tuple[str, ...]
    email: str
    website: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class KnowledgeBase:
    """A checked knowledge base, ready for the matcher."""

    entries: tuple[Entry, ...]
    topics: tuple[Topic, ...]
    texts: dict[str, Localized]
    contact: Contact
    source_path: str = ""
    concepts: tuple[Concept, ...] = ()
    _by_id: dict[str, Entry] = field(init=False, repr=False, compare=False)
    _by_question_word: dict[str, Entry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {entry.id: entry for entry in self.entries})
        by_word = {word: entry for entry in self.entries for word in entry.question_words}
        object.__setattr__(self, "_by_question_word", by_word)

    def entry(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def entry_for_question_word(self, word: str) -> Entry | None:
        """The entry a bare question word ("when?", "¿dónde?") opens, if any."""
        return self._by_question_word.get(word)

    def text(self, key: str, language: Language) -> str:
        return self.texts[key](language)

    @property
    def question_count(self) -> int:
        return sum(len(qs) for entry in self.entries for qs in entry.questions.values())
