"""Tell English from Spanish in a few chat words.

Short messages defeat statistical detectors, so this counts evidence we trust:
function words of each language, words that the knowledge base itself uses
in only one language's questions, and characters only Spanish writes. When the
evidence is even (a name, "email", "2006") it says so, and the caller decides
from what it knows of the person.
"""

from __future__ import annotations

from collections.abc import Iterable

from knowledge.normalise import ENGLISH_STOP_WORDS, SPANISH_MARKS, SPANISH_STOP_WORDS, words
from knowledge.schema import Language

# Words that are stop words in both lists ("a", "me", "no") prove nothing.
_ENGLISH_ONLY = ENGLISH_STOP_WORDS - SPANISH_STOP_WORDS
_SPANISH_ONLY = SPANISH_STOP_WORDS - ENGLISH_STOP_WORDS


class LanguageDetector:
    """Scores a message for English and Spanish; knows the knowledge base's own vocabulary."""

    def __init__(self, english_words: Iterable[str], spanish_words: Iterable[str]) -> None:
        english, spanish = set(english_words), set(spanish_words)
        self._english = (english - spanish) | _ENGLISH_ONLY
        self._spanish = (spanish - english) | _SPANISH_ONLY
        self._english -= _SPANISH_ONLY
        self._spanish -= _ENGLISH_ONLY

    def detect(self, text: str) -> Language | None:
        """ "en" or "es" when the text shows it, None when it could be either."""
        english = spanish = 0.0
        for word in words(text):
            if word in self._english:
                english += 1
            if word in self._spanish:
                spanish += 1
        spanish += 1.5 * sum(1 for ch in text if ch in SPANISH_MARKS)
        if english > spanish:
            return "en"
        if spanish > english:
            return "es"
        return None
