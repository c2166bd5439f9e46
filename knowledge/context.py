"""Follow-ups: a message read in the light of what was answered just before.

People in a chat do not repeat the topic: after the Regional Conference on
Migration they ask "when was it created?", "and how many countries?",
"¿y dónde?". The engine takes the last topic as an input (`Engine.ask(...,
context=entry_id)`) and stays pure: knowledge/ keeps no per-user state. Who
remembers what, for whom and for how long is the caller's business
(`handlers.topics.RecentTopics`, kept by the Telegram handlers, the terminal
chat and `faqbot ask --context`).
"""

from __future__ import annotations

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
