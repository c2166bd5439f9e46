"""Find the entry a chat message asks for, and say how sure we are.

How a message is scored, in three steps:

1. Words. The message is folded (case, accents, punctuation), stop words and
   chat filler are dropped, plurals are folded, and every remaining word that
   the knowledge base does not know is corrected to the closest word it does
   know (rapidfuzz over a length-bucketed vocabulary), if one is close enough.
2. Evidence. Each word weighs its rarity across entries (IDF), so "puebla"
   says more than "migration". An entry's coverage is the share of the
   message's weight that the entry's questions, keywords and title explain
   (its answer counts a little too). Words the knowledge base has never seen
   still weigh in the total: "visa for chile" is half unknown, and the score
   shows it. This is what keeps out-of-scope questions from confident answers.
3. Phrasing. For the best few entries, rapidfuzz's batch scorer compares the
   message with every stored question; the best question gives the
   explanation ("why") and breaks ties between entries with the same words.

The score mixes coverage of the message, coverage of the best stored question
and the phrasing similarity, 0 to 100. Everything that does not depend on the
message is computed once, when the knowledge base is loaded.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from knowledge.normalise import content_tokens, words
from knowledge.schema import LANGUAGES, KnowledgeBase, Language

# How much an entry's answer text counts next to its questions and keywords.
ANSWER_WEIGHT = 0.4
# The closest known word must be at least this similar to replace a typo.
TYPO_CUTOFF = 80.0
# A word this short is only corrected to a known word with its first letter
# and one slip away (a letter changed, added, dropped or two swapped): "emial"
# is "email", "woman" "women", but "visa" is not "visita", nor "gano" "ano".
SHORT_TYPO_LENGTH = 5
# Typos are only corrected in words this long; short words are too ambiguous.
TYPO_MIN_LENGTH = 4
# Only this many distinct words of a message are scored: bounds the work of
# a 4,000-character message without changing the answer to a real question.
MAX_QUERY_TOKENS = 32
# At most this many words of one message are searched for as typos; the rest
# of a long message counts as unknown words, which bounds its cost.
MAX_TYPO_SEARCHES = 8
# How many typo corrections a matcher remembers before starting afresh.
CORRECTIONS_REMEMBERED = 50_000
# Only the best entries by coverage are compared phrase by phrase.
CANDIDATES = 8
# How much a word the knowledge base has never seen weighs, next to its rarest word.
UNKNOWN_FACTOR = 1.3
# At most this many unknown words count against a message. One or two unknown
# words in a short question mean it is about something else ("visa", "weather");
# a long chatty message has many, and still asks what it shares with us.
MAX_UNKNOWN_COUNTED = 2
# The weights of the three parts of the score.
MIX_MESSAGE, MIX_QUESTION, MIX_PHRASING = 0.5, 0.3, 0.2


@dataclass(frozen=True)
class Choice:
    """One stored question, keyword or title, normalised once."""

    entry: int
    language: Language
    text: str
    normalised: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Scored:
    """An entry's score for one message, with the stored question that explains it."""

    entry_id: str
    score: float
    question: str
    # The language of that stored question; None when the entry stores the
    # same words in both languages ("Puebla", "CELADE").
    language: Language | None


@dataclass(frozen=True)
class Ranking:
    """The best entries for one message, best first."""

    tokens: tuple[str, ...]
    unknown: tuple[str, ...]
    results: tuple[Scored, ...]

    @property
    def best(self) -> Scored | None:
        return self.results[0] if self.results else None

    @property
    def margin(self) -> float:
        if not self.results:
            return 0.0
        runner_up = self.results[1].score if len(self.results) > 1 else 0.0
        return self.results[0].score - runner_up


class Matcher:
    """Ranks a knowledge base's entries against a message. Built once per knowledge base."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self._entry_ids = [entry.id for entry in knowledge.entries]
        self._choices: list[Choice] = []
        self._choices_of: list[list[int]] = [[] for _ in knowledge.entries]
        # token -> {entry index: field weight}; the best field wins.
        postings: dict[str, dict[int, float]] = defaultdict(dict)
        # token -> the stored questions that contain it, for question coverage.
        choice_postings: dict[str, list[int]] = defaultdict(list)
        language_words: dict[Language, set[str]] = {"en": set(), "es": set()}

        for index, entry in enumerate(knowledge.entries):
            for lang in LANGUAGES:
                stored = [
                    *entry.questions[lang],
                    *entry.keywords.get(lang, ()),
                    entry.title(lang),
                ]
                for text in stored:
                    tokens = tuple(content_tokens(text))
                    if not tokens:
                        continue
                    choice_id = len(self._choices)
                    self._choices_of[index].append(choice_id)
                    self._choices.append(Choice(index, lang, text, " ".join(tokens), tokens))
                    for token in set(tokens):
                        postings[token][index] = 1.0
                        choice_postings[token].append(choice_id)
                for question in entry.questions[lang]:
                    language_words[lang].update(words(question))
                for token in content_tokens(entry.answer(lang)):
                    postings[token].setdefault(index, ANSWER_WEIGHT)

        entry_count = max(len(self._entry_ids), 1)
        self._postings = dict(postings)
        self._idf = {
            token: math.log(1 + entry_count / len(entries)) for token, entries in postings.items()
        }
        # A word nobody stored weighs like a word that only one entry uses:
        # the message is about something, and we do not know what.
        self._unknown_idf = UNKNOWN_FACTOR * math.log(1 + entry_count)
        self._choice_postings = dict(choice_postings)
        by_language: dict[Language, set[tuple[int, str]]] = {"en": set(), "es": set()}
        for choice in self._choices:
            by_language[choice.language].add((choice.entry, choice.normalised))
        self._bilingual = by_language["en"] & by_language["es"]
        self._choice_weight = [
            sum(self._idf[token] for token in set(choice.tokens)) for choice in self._choices
        ]
        # (length, letter) -> known words of that length with that first or second letter.
        self._neighbours: dict[tuple[int, str], list[str]] = defaultdict(list)
        for token in self._postings:
            for letter in {token[0], token[1:2] or token[0]}:
                self._neighbours[(len(token), letter)].append(token)
        self._corrections: dict[str, tuple[str | None, float]] = {}
        self.language_words = language_words

    def _correct(self, token: str, may_search: bool = True) -> tuple[str | None, float]:
        """The known word this token stands for, and how sure we are of it (0..1).

        Candidates are the known words within two letters of its length that
        share its first or its second letter: a typo rarely changes both, and
        this keeps the search to a small slice of a large vocabulary.
        Corrections are remembered, since chat repeats its unknown words.
        """
        if token in self._postings:
            return token, 1.0
        if len(token) < TYPO_MIN_LENGTH or token.isdigit():
            return None, 0.0
        remembered = self._corrections.get(token)
        if remembered is not None:
            return remembered
        if not may_search:
            return None, 0.0
        nearby = [
            word
            for length in range(len(token) - 2, len(token) + 3)
            for letter in {token[0], token[1]}
            for word in self._neighbours.get((length, letter), ())
        ]
        if len(token) <= SHORT_TYPO_LENGTH:
            close = [w for w in nearby if w[0] == token[0] and abs(len(w) - len(token)) <= 1]
            slip = process.extractOne(token, close, scorer=OSA.distance, score_cutoff=1)
            found = None if slip is None else (slip[0], fuzz.ratio(token, slip[0]))
        else:
            found = process.extractOne(token, nearby, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
        result = (None, 0.0) if found is None else (found[0], found[1] / 100.0)
        if len(self._corrections) >= CORRECTIONS_REMEMBERED:
            self._corrections.clear()
        self._corrections[token] = result
        return result

    def rank(self, message: str, limit: int = 4) -> Ranking:
        """Score the entries for a message; an empty ranking when nothing is shared."""
        raw_tokens = content_tokens(message)[:MAX_QUERY_TOKENS]
        tokens: list[str] = []
        unknown: list[str] = []
        weights: list[tuple[str, float, float]] = []  # known token, idf, certainty
        total_weight = 0.0
        searches = 0
        for raw in raw_tokens:
            may_search = searches < MAX_TYPO_SEARCHES
            if may_search and raw not in self._postings and raw not in self._corrections:
                searches += 1
            known, certainty = self._correct(raw, may_search)
            if known is None:
                unknown.append(raw)
                if len(unknown) <= MAX_UNKNOWN_COUNTED:
                    total_weight += self._unknown_idf
                continue
            if known in tokens:
                continue
            tokens.append(known)
            idf = self._idf[known]
            weights.append((known, idf, certainty))
            total_weight += idf
        if not weights:
            return Ranking(tuple(tokens), tuple(unknown), ())

        coverage: dict[int, float] = defaultdict(float)
        for token, idf, certainty in weights:
            for entry, field_weight in self._postings[token].items():
                coverage[entry] += idf * certainty * field_weight
        candidates = sorted(coverage, key=coverage.__getitem__, reverse=True)[:CANDIDATES]

        # How much of each stored question the message contains, touching
        # only the questions that share a word with it.
        question_covered: dict[int, float] = defaultdict(float)
        for token, idf, certainty in weights:
            for choice_id in self._choice_postings.get(token, ()):
                question_covered[choice_id] += idf * certainty

        # Unknown words stay in the phrasing: "hotels montevideo" is not "montevideo".
        query = " ".join((*tokens, *unknown))
        # Only stored questions that share a word with the message can explain
        # it; an entry found through its answer text alone is judged by its title.
        candidate_set = set(candidates)
        choice_ids = [c for c in question_covered if self._choices[c].entry in candidate_set]
        with_question = {self._choices[c].entry for c in choice_ids}
        choice_ids += [
            self._choices_of[e][-1]
            for e in candidates
            if e not in with_question and self._choices_of[e]
        ]
        phrasing = process.extract(
            query,
            [self._choices[c].normalised for c in choice_ids],
            scorer=fuzz.token_sort_ratio,
            limit=None,
        )
        best_choice: dict[int, tuple[float, int]] = {}
        for _, similarity, position in phrasing:
            choice_id = choice_ids[position]
            entry = self._choices[choice_id].entry
            covered = question_covered.get(choice_id, 0.0) / self._choice_weight[choice_id]
            combined = MIX_QUESTION * covered + MIX_PHRASING * similarity / 100.0
            current = best_choice.get(entry)
            if current is None or combined > current[0]:
                best_choice[entry] = (combined, choice_id)

        results = []
        for entry in candidates:
            message_coverage = min(coverage[entry] / total_weight, 1.0)
            if entry not in best_choice:
                # No stored question has a content word (all stop words): only
                # its answer text matched, which alone is never confident.
                score = 100.0 * MIX_MESSAGE * message_coverage
                results.append(Scored(self._entry_ids[entry], round(score, 1), "", None))
                continue
            combined, choice_id = best_choice[entry]
            score = 100.0 * (MIX_MESSAGE * message_coverage + combined)
            choice = self._choices[choice_id]
            bilingual = (entry, choice.normalised) in self._bilingual
            language = None if bilingual else choice.language
            results.append(Scored(self._entry_ids[entry], round(score, 1), choice.text, language))
        results.sort(key=lambda scored: scored.score, reverse=True)
        return Ranking(tuple(tokens), tuple(unknown), tuple(results[:limit]))
