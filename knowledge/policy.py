"""The answer policy: how sure the ranking's best entry is the answer.

The matcher ranks entries; whether to answer with the first, offer "did you
mean", or say "I don't know" is a separate decision, and hand-set thresholds
made it badly: the right entry was first for 82 % of realistic questions, yet
fewer than half were answered. So the decision is a logistic regression over
features of the ranking and of the message, fitted on labelled questions
(`faqbot calibrate`). Its weights live in `data/policy.yaml` beside the
knowledge base, with what they were fitted on and their cross-validated
figures, so a change in them is a reviewable diff. Answering needs no more
than the dot product here; fitting needs scikit-learn (`pip install
faqbot[fit]`), which only `faqbot calibrate` imports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.matcher import Ranking
from knowledge.schema import Language

# The features, in the order the weights file lists them. Each is 0..1 or a
# small count; what each says is in `features` below.
FEATURES = (
    "score",
    "margin",
    "runner_up",
    "message_coverage",
    "known_coverage",
    "question_coverage",
    "phrasing",
    "known_words",
    "uncovered_words",
    "unknown_words",
    "unknown_share",
    "unknown_asked",
    "corrected",
    "one_word",
    "spanish",
    "asked_part",
    "asks_kind",
    "kind_missing",
    "readings_disagree",
)


def features(
    ranking: Ranking,
    language: Language | None,
    asked_part: bool,
    kinds: tuple[str, ...] = (),
    holds: tuple[str, ...] = (),
    disagree: bool = False,
    asked_words: frozenset[str] = frozenset(),
) -> dict[str, float]:
    """What the policy reads of one ranking of one message.

    `kinds` are the kinds of fact the message asks for (a place, a time…),
    `holds` those the best entry's answer holds; `asked_words` the words of
    its question proper (its last question, without a preamble).
    """
    best = ranking.best
    assert best is not None, "only a ranking with a best entry is assessed"
    runner_up = ranking.results[1].score if len(ranking.results) > 1 else 0.0
    known = len(ranking.tokens)
    return {
        # The matcher's score of the best entry and how far ahead it is.
        "score": best.score / 100.0,
        "margin": ranking.margin / 100.0,
        "runner_up": runner_up / 100.0,
        # Its three parts: how much of the message the entry explains, how
        # much of its best stored question the message holds, and how alike
        # the two are phrased.
        "message_coverage": best.message_coverage,
        "known_coverage": best.known_coverage,
        "question_coverage": best.question_coverage,
        "phrasing": best.phrasing,
        # How much the message says that we know, and what we do not know.
        "known_words": min(known, 8) / 8.0,
        # Known words the best entry does not explain ("recommend" and "hotel"
        # beside "Montevideo session"): the message asks for more than it holds.
        "uncovered_words": min(known, 8) / 8.0 * (1.0 - best.known_coverage),
        "unknown_words": min(len(ranking.unknown), 8) / 8.0,
        "unknown_share": ranking.unknown_share,
        # Unknown words in the question proper: "visa" in "how do I get a visa
        # for Chile" is what is asked about; a preamble's are only context.
        "unknown_asked": min(sum(word in asked_words for word in ranking.unknown), 3) / 3.0,
        "corrected": min(ranking.corrected, 4) / 4.0,
        "one_word": 1.0 if known == 1 and not ranking.unknown else 0.0,
        "spanish": 1.0 if language == "es" else 0.0,
        # Only a part of the message was read: what follows a self-introduction
        # ("I'm a student… I'd like to know"), or its last question.
        "asked_part": 1.0 if asked_part else 0.0,
        # It asks for a kind of fact, and one the best entry does not hold
        # ("where did the 2005 summit meet?": the release never says).
        "asks_kind": 1.0 if kinds else 0.0,
        "kind_missing": 1.0 if any(kind not in holds for kind in kinds) else 0.0,
        # Another reading of the message (whole, or a part) ranks another entry
        # first: a preamble may be talking about one thing and asking another.
        "readings_disagree": 1.0 if disagree else 0.0,
    }


class PolicyError(ValueError):
    """A policy file that cannot be read or was fitted for other features."""


@dataclass(frozen=True)
class AnswerPolicy:
    """A fitted logistic regression and the probability at which it answers."""

    weights: dict[str, float]
    intercept: float
    # At or above: answer. Chosen with the weights (see `calibrate`).
    answer_at: float
    # What it was fitted on and how it did, for the reader of the file.
    about: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [name for name in self.weights if name not in FEATURES]
        if unknown:
            raise ValueError(f"policy weights: unknown features {unknown}")
        # A feature the file does not weigh (one added since it was fitted)
        # counts for nothing until `faqbot calibrate` fits it.
        for name in FEATURES:
            self.weights.setdefault(name, 0.0)
        if not 0.0 < self.answer_at < 1.0:
            raise ValueError("policy answer_at must be between 0 and 1")

    def probability(self, values: dict[str, float]) -> float:
        """How likely answering with the best entry is right, 0..1."""
        z = self.intercept + sum(self.weights[name] * values[name] for name in FEATURES)
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def topic_probability(self, values: dict[str, float]) -> float:
        """How sure the policy is of the best entry's topic, whether or not it holds the
        kind of fact asked: the probability had the message not asked for a missing
        kind. The engine talks about the surest topic, and says when the fact is not
        there ("the press release does not say where…")."""
        if not values["kind_missing"]:
            return self.probability(values)
        return max(self.probability(values), self.probability({**values, "kind_missing": 0.0}))

    def contributions(self, values: dict[str, float]) -> list[tuple[str, float, float]]:
        """(feature, its value, what it adds to the log-odds), largest effect first."""
        rows = [(name, values[name], self.weights[name] * values[name]) for name in FEATURES]
        return sorted(rows, key=lambda row: -abs(row[2]))

    @classmethod
    def read(cls, path: str | Path) -> AnswerPolicy:
        """A policy file; PolicyError, naming the file, for anything wrong with it."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            return cls(
                weights={str(k): float(v) for k, v in data["weights"].items()},
                intercept=float(data["intercept"]),
                answer_at=float(data["answer_at"]),
                about=dict(data.get("about") or {}),
            )
        except OSError as error:
            raise PolicyError(f"{path}: cannot read the answer policy: {error.strerror}") from None
        except (yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError) as error:
            raise PolicyError(
                f"{path}: not an answer policy for this version ({error}); "
                "refit it with `faqbot calibrate --write`"
            ) from None

    @classmethod
    def neutral(cls) -> AnswerPolicy:
        """A policy that knows nothing (all weights 0): what fitting starts from."""
        return cls({name: 0.0 for name in FEATURES}, 0.0, 0.5)

    @classmethod
    def bundled(cls) -> AnswerPolicy:
        return cls.read(bundled_policy_path())

    def to_yaml(self) -> str:
        header = (
            "# The answer policy, fitted by `faqbot calibrate`: do not edit by hand.\n"
            "# P(right) = 1 / (1 + exp(-(intercept + sum(weight * feature)))); the bot\n"
            "# answers when P >= answer_at. The features are described in\n"
            "# knowledge/policy.py; `about` says what the weights were fitted on and\n"
            "# their cross-validated figures.\n"
        )
        body = {
            "answer_at": round(self.answer_at, 4),
            "intercept": round(self.intercept, 4),
            "weights": {name: round(self.weights[name], 4) for name in FEATURES},
            "about": self.about,
        }
        return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


def bundled_policy_path() -> Path:
    return Path(__file__).with_name("data") / "policy.yaml"
