"""Find the entry a chat message asks for, and say how sure we are.

How a message is scored, in three steps:

1. Words. The message is folded (case, accents, punctuation), stop words and
   chat filler are dropped, and each remaining word becomes the Snowball stem
   the knowledge base knows it by (in the message's language first, then the
   other); a word it does not know is corrected to the closest word it does
   know (rapidfuzz over a length-bucketed vocabulary), if one is close enough.
   Then the concept lexicon turns every phrase it lists into its concept
   ("press office" and "portavoz" into the press contact), as it did for the
   stored questions.
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

from knowledge.lexicon import CONCEPT_MARK, Lexicon
from knowledge.normalise import content_words, stem, words
from knowledge.schema import LANGUAGES, KnowledgeBase, Language

# How much an entry's answer text counts next to its questions and keywords
# (fitted with the mix below).
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
# How much a word the knowledge base has never seen weighs, next to its rarest
# word. Measured with `faqbot calibrate` (field set, 5-fold cross-validated,
# answered right): 1.0 gave 84.7 %, 1.3 85.7 %, 1.6 83.3 %.
UNKNOWN_FACTOR = 1.3
# At most this many unknown words count against a message's score. One or two
# unknown words in a short question mean it is about something else ("visa",
# "weather"); a long chatty message has many. Since the answer policy reads
# the unknown words itself, the cap hardly matters: without it the field set
# gives the same cross-validated figures and the hold-out one answer fewer.
MAX_UNKNOWN_COUNTED = 2
# The weights of the three parts of the score. Fitted by a grid search (message
# 0.4-0.6, question 0.2-0.4, the rest phrasing; ANSWER_WEIGHT 0.2-0.6) on the
# in-scope questions of field_questions.yaml, dev.tsv and holdout.tsv, for the
# share whose first entry is right: these (95.3 %) tie with the best of the 27.
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
    # The three parts of the score, 0..1, for the answer policy.
    message_coverage: float = 0.0
    question_coverage: float = 0.0
    phrasing: float = 0.0
    # How much of the message's known words (unknown ones left out) it explains.
    known_coverage: float = 0.0


@dataclass(frozen=True)
class Ranking:
    """The best entries for one message, best first."""

    tokens: tuple[str, ...]
    unknown: tuple[str, ...]
    results: tuple[Scored, ...]
    # How much of the message's weight is words the knowledge base never saw
    # (all of them, uncapped), 0..1; and how many words were typo-corrected.
    unknown_share: float = 0.0
    corrected: int = 0

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
        self._lexicon = Lexicon(knowledge.concepts)
        # Every folded word of a stored text, with the stem it is indexed by.
        self._surface: dict[str, str] = {}
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
                    tokens = tuple(self._stored_tokens(text, lang))
                    if not tokens:
                        continue
                    choice_id = len(self._choices)
                    self._choices_of[index].append(choice_id)
                    self._choices.append(Choice(index, lang, text, " ".join(tokens), tokens))
                    for token in dict.fromkeys(tokens):
                        postings[token][index] = 1.0
                        choice_postings[token].append(choice_id)
                for question in entry.questions[lang]:
                    language_words[lang].update(words(question))
                for token in self._stored_tokens(entry.answer(lang), lang):
                    postings[token].setdefault(index, ANSWER_WEIGHT)

        entry_count = max(len(self._entry_ids), 1)
        self._postings = dict(postings)
        self._idf = {
            token: math.log(1 + entry_count / len(entries)) * self._lexicon.weights.get(token, 1.0)
            for token, entries in postings.items()
        }
        # A word nobody stored weighs like a word that only one entry uses:
        # the message is about something, and we do not know what.
        self._unknown_idf = UNKNOWN_FACTOR * math.log(1 + entry_count)
        self._choice_postings = dict(choice_postings)
        # A stored text written the same in both languages ("Puebla", "CELADE")
        # shows no language; compared as written, since its stems may differ.
        by_language: dict[Language, set[tuple[int, str]]] = {"en": set(), "es": set()}
        for choice in self._choices:
            by_language[choice.language].add((choice.entry, " ".join(content_words(choice.text))))
            by_language[choice.language].add((choice.entry, choice.normalised))
        self._bilingual = by_language["en"] & by_language["es"]
        self._choice_weight = [
            sum(self._idf[token] for token in dict.fromkeys(choice.tokens))
            for choice in self._choices
        ]
        for word, word_stem in self._lexicon.surface.items():
            self._surface.setdefault(word, word_stem)
        self._known_stems = frozenset(self._postings) | self._lexicon.stems
        # (length, letter) -> known words of that length with that first or
        # second letter; sorted, so a tie between two corrections always goes
        # the same way, whatever the process's hash seed.
        neighbours: dict[tuple[int, str], set[str]] = defaultdict(set)
        for word in self._surface:
            if len(word) >= TYPO_MIN_LENGTH - 2 and not word.isdigit():
                for letter in (word[0], word[1:2] or word[0]):
                    neighbours[(len(word), letter)].add(word)
        self._neighbours = {key: sorted(found) for key, found in sorted(neighbours.items())}
        self._corrections: dict[str, tuple[str | None, float]] = {}
        self.language_words = language_words

    def _stored_tokens(self, text: str, language: Language) -> list[str]:
        """A stored text's tokens: its stems, with the lexicon's phrases as concepts."""
        written = content_words(text)
        stems = []
        for word in written:
            word_stem = stem(word, language)
            self._surface.setdefault(word, word_stem)
            stems.append(word_stem)
        applied = self._lexicon.apply(written, stems, [1.0] * len(stems))
        return list(dict.fromkeys(token for token, _ in applied))

    def _resolve(
        self, word: str, languages: tuple[Language, Language], may_search: bool
    ) -> tuple[str, str | None, float, bool]:
        """The known word and stem a message's word stands for, how sure we are
        of them (0..1), and whether a typo search was spent on it."""
        known = self._surface.get(word)
        if known is not None:
            return word, known, 1.0, False
        for language in languages:
            word_stem = stem(word, language)
            if word_stem in self._known_stems:
                return word, word_stem, 1.0, False
        # A remembered correction still spends a search, so that no answer
        # depends on what was asked before.
        searched = may_search and len(word) >= TYPO_MIN_LENGTH and not word.isdigit()
        corrected, certainty = self._correct(word, may_search)
        if corrected is None:
            return word, None, 0.0, searched
        return corrected, self._surface[corrected], certainty, searched

    def _correct(self, token: str, may_search: bool = True) -> tuple[str | None, float]:
        """The known word this token is a typo of, and how sure we are of it (0..1).

        Candidates are the known words within two letters of its length that
        share its first or its second letter: a typo rarely changes both, and
        this keeps the search to a small slice of a large vocabulary.
        Corrections are remembered, since chat repeats its unknown words.
        """
        if token in self._surface:
            return token, 1.0
        if len(token) < TYPO_MIN_LENGTH or token.isdigit() or not may_search:
            return None, 0.0
        remembered = self._corrections.get(token)
        if remembered is not None:
            return remembered
        letters = (token[0], token[1]) if token[1] != token[0] else (token[0],)
        nearby = [
            word
            for length in range(len(token) - 2, len(token) + 3)
            for letter in letters
            for word in self._neighbours.get((length, letter), ())
        ]
        if len(token) <= SHORT_TYPO_LENGTH:
            close = [w for w in nearby if w[0] == token[0] and abs(len(w) - len(token)) <= 1]
            slip = process.extractOne(token, close, scorer=OSA.distance, score_cutoff=1)
            found: tuple[str, float] | None = (
                None if slip is None else (slip[0], fuzz.ratio(token, slip[0]))
            )
        else:
            # A typo keeps the word's first letter or its length: "hiring" is
            # not "ring", though the two are 80 % alike.
            nearby = [w for w in nearby if w[0] == token[0] or len(w) == len(token)]
            best = process.extractOne(token, nearby, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
            found = None if best is None else (best[0], best[1])
        result = (None, 0.0) if found is None else (found[0], found[1] / 100.0)
        if len(self._corrections) >= CORRECTIONS_REMEMBERED:
            self._corrections.clear()
        self._corrections[token] = result
        return result

    def uses_concept(self, concept_id: str) -> bool:
        """Whether any entry says the concept: if none does, its words in a message
        count as unknown ones, against the message, as a word never seen would."""
        return CONCEPT_MARK + concept_id in self._postings

    def rank(self, message: str, limit: int = 4, language: Language | None = None) -> Ranking:
        """Score the entries for a message; an empty ranking when nothing is shared.

        `language` is the message's language if known: its stems are tried first.
        """
        languages: tuple[Language, Language] = ("es", "en") if language == "es" else ("en", "es")
        written: list[str] = []
        stems: list[str] = []
        certainties: list[float] = []
        unknown: list[str] = []
        searches = corrected = 0
        for raw in content_words(message)[:MAX_QUERY_TOKENS]:
            word, known, certainty, searched = self._resolve(
                raw, languages, searches < MAX_TYPO_SEARCHES
            )
            searches += searched
            if known is None:
                unknown.append(raw)
                continue
            corrected += certainty < 1.0
            written.append(word)
            stems.append(known)
            certainties.append(certainty)

        tokens: list[str] = []
        weights: list[tuple[str, float, float]] = []  # known token, idf, certainty
        known_weight = 0.0
        for token, certainty in self._lexicon.apply(written, stems, certainties):
            if token not in self._postings:
                unknown.append(token)  # a word of a lexicon phrase, said alone
                continue
            if token in tokens:
                continue
            tokens.append(token)
            idf = self._idf[token]
            weights.append((token, idf, certainty))
            known_weight += idf
        unknown_weight = self._unknown_idf * len(unknown)
        unknown_share = unknown_weight / (known_weight + unknown_weight) if unknown else 0.0
        total_weight = known_weight + self._unknown_idf * min(len(unknown), MAX_UNKNOWN_COUNTED)
        if not weights:
            return Ranking(tuple(tokens), tuple(unknown), (), unknown_share, corrected)

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
        best_choice: dict[int, tuple[float, int, float, float]] = {}
        for _, similarity, position in phrasing:
            choice_id = choice_ids[position]
            entry = self._choices[choice_id].entry
            covered = question_covered.get(choice_id, 0.0) / self._choice_weight[choice_id]
            combined = MIX_QUESTION * covered + MIX_PHRASING * similarity / 100.0
            current = best_choice.get(entry)
            if current is None or combined > current[0]:
                best_choice[entry] = (combined, choice_id, covered, similarity / 100.0)

        results = []
        for entry in candidates:
            message_coverage = min(coverage[entry] / total_weight, 1.0)
            known_coverage = min(coverage[entry] / known_weight, 1.0)
            if entry not in best_choice:
                # No stored question has a content word (all stop words): only
                # its answer text matched, which alone is never confident.
                score = 100.0 * MIX_MESSAGE * message_coverage
                results.append(
                    Scored(
                        self._entry_ids[entry],
                        round(score, 1),
                        "",
                        None,
                        message_coverage,
                        known_coverage=known_coverage,
                    )
                )
                continue
            combined, choice_id, covered, similarity = best_choice[entry]
            score = 100.0 * (MIX_MESSAGE * message_coverage + combined)
            choice = self._choices[choice_id]
            bilingual = (entry, choice.normalised) in self._bilingual or (
                entry,
                " ".join(content_words(choice.text)),
            ) in self._bilingual
            results.append(
                Scored(
                    self._entry_ids[entry],
                    round(score, 1),
                    choice.text,
                    None if bilingual else choice.language,
                    message_coverage,
                    covered,
                    similarity,
                    known_coverage,
                )
            )
        results.sort(key=lambda scored: scored.score, reverse=True)
        return Ranking(
            tuple(tokens), tuple(unknown), tuple(results[:limit]), unknown_share, corrected
        )
