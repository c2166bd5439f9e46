"""The concept lexicon: many ways of saying one of the document's terms.

A curator lists, per concept, the words and phrases people use for it in
English and Spanish (`concepts:` in the knowledge base). Every text the
matcher reads, stored or typed, has each such phrase replaced by one token
for its concept, so "spokesperson", "press office" and "portavoz" are the same
word to the matcher, and so are "maids" and "domestic workers".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from knowledge.normalise import content_words, stem
from knowledge.schema import LANGUAGES, Concept

# Concept tokens start with a character no word has, so none can clash with one.
CONCEPT_MARK = "="


class Lexicon:
    """Phrases, as written and as stemmed, and the concept token each stands for.

    A phrase is looked up as written before it is looked up by its stems, so
    two words that Snowball gives one stem keep the concepts a curator gave
    them: "mobile" is a phone, "mobility" is moving between countries.
    """

    def __init__(self, concepts: Iterable[Concept]) -> None:
        self._written: dict[tuple[str, ...], str] = {}
        self._stemmed: dict[tuple[str, ...], str] = {}
        # Every folded word of a term, with its stem: the matcher's typo
        # search may land on these words too ("spoksman" is "spokesman").
        self.surface: dict[str, str] = {}
        # Concept tokens that weigh other than 1 (knowledge.schema.Concept.weight).
        self.weights: dict[str, float] = {}
        for concept in concepts:
            token = CONCEPT_MARK + concept.id
            if concept.weight != 1.0:
                self.weights[token] = concept.weight
            for lang in LANGUAGES:
                for term in concept.terms[lang]:
                    written = tuple(content_words(term))
                    if not written:
                        continue
                    self._written.setdefault(written, token)
                    self._stemmed.setdefault(tuple(stem(w, lang) for w in written), token)
                    for word in written:
                        self.surface.setdefault(word, stem(word, lang))
        self._longest = max((len(phrase) for phrase in self._written), default=0)
        self.stems = frozenset(stem for phrase in self._stemmed for stem in phrase)

    def apply(
        self, written: Sequence[str], stems: Sequence[str], certainty: Sequence[float]
    ) -> list[tuple[str, float]]:
        """The tokens of a text whose words are `written` and whose stems are
        `stems`: each known phrase becomes its concept, longest phrase first.

        Each word comes with how sure the matcher is of it (a typo correction
        is less than sure); a phrase is as sure as its least sure word.
        """
        result: list[tuple[str, float]] = []
        position = 0
        while position < len(stems):
            for length in range(min(self._longest, len(stems) - position), 0, -1):
                end = position + length
                concept = self._written.get(tuple(written[position:end])) or self._stemmed.get(
                    tuple(stems[position:end])
                )
                if concept is not None:
                    result.append((concept, min(certainty[position:end])))
                    position = end
                    break
            else:
                result.append((stems[position], certainty[position]))
                position += 1
        return result
