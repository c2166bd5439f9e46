"""Follow-ups: a message read in the light of what was answered just before.

People in a chat do not repeat the topic: after the Regional Conference on
Migration they ask "when was it created?", "and how many countries?",
"¿y dónde?". The engine takes the last topic as an input (`Engine.ask(...,
context=entry_id)`) and stays pure; who remembers what, for whom and for how
long is the caller's business (`RecentTopics` below, one per chat or per
user in a group, kept by the Telegram handlers, the terminal chat and
`faqbot ask --context`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from knowledge.normalise import content_words, words
from knowledge.question_kind import asked_kinds

# Words that point back at something said before ("when was it created?",
# "¿y cuántos países la fundaron?"), or open a follow-up ("and…", "y…").
# Not "there" ("is there a glossary?") nor "that" ("does it say that…").
BACK_REFERENCES = frozenset(
    """
    it its they them their this these those he him his she her same
    lo la los las le les su sus ese esa eso esos esas este esta esto aquel aquella ahi
    alli alla mismo misma
    """.split()
)
FOLLOW_UP_OPENERS = frozenset("and also so y tambien entonces".split())
FOLLOW_UP_PHRASES = ("what about", "how about", "y que tal", "y que hay", "que hay de")
# A follow-up is short: a long message says what it is about.
MAX_FOLLOW_UP_WORDS = 10
# Content words a question-word follow-up ("how many countries?") may hold.
MAX_FOLLOW_UP_CONTENT = 2


def is_follow_up(text: str) -> bool:
    """Whether a message may lean on the previous topic: short, and pointing back or
    asking for a kind of fact with hardly a word of its own."""
    said = words(text)
    if not said or len(said) > MAX_FOLLOW_UP_WORDS:
        return False
    if said[0] in FOLLOW_UP_OPENERS or points_back(text):
        return True
    if any(" ".join(said).startswith(phrase) for phrase in FOLLOW_UP_PHRASES):
        return True
    return bool(asked_kinds(text)) and len(content_words(text)) <= MAX_FOLLOW_UP_CONTENT


def points_back(text: str) -> bool:
    """Whether a message refers to something said before ("who signed it?")."""
    return not BACK_REFERENCES.isdisjoint(words(text))


class RecentTopics:
    """The last topic answered for each conversation, bounded in number and in time.

    Kept in memory only: a restart forgets, as a person would after a pause.
    """

    def __init__(
        self, minutes: float, most: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seconds = minutes * 60.0
        self._most = most
        self._clock = clock
        self._topics: OrderedDict[object, tuple[str, float]] = OrderedDict()

    def get(self, key: object) -> str | None:
        """The topic of this conversation, or None if there is none or it is too old."""
        found = self._topics.get(key)
        if found is None:
            return None
        topic, at = found
        if self._clock() - at > self._seconds:
            del self._topics[key]
            return None
        return topic

    def set(self, key: object, topic: str | None) -> None:
        """Remember a topic (None forgets: `/start`, a new conversation)."""
        self._topics.pop(key, None)
        if topic is None:
            return
        self._topics[key] = (topic, self._clock())
        while len(self._topics) > self._most:
            self._topics.popitem(last=False)

    def __len__(self) -> int:
        return len(self._topics)
