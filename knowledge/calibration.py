"""Fit the answer policy on labelled questions, and say honestly how well it does.

`faqbot calibrate SET...` reads labelled sets (either format of
`knowledge/evaluation.py`), reads each message the way the engine does (the
whole message, and what it asks after a self-introduction), and labels each
reading by whether answering with its first entry would be right. A logistic
regression over the policy's features (`knowledge/policy.py`) is fitted on
those, and the answer threshold is the one that maximises

    right answers - WRONG_COST * (wrong answers + out-of-scope answers).

Every figure it reports is cross-validated: the items are split into k folds,
and each fold is judged by a policy fitted (weights and threshold) on the
others only, so no figure comes from a question the policy saw.

scikit-learn does the fitting (`pip install 'faqbot[fit]'`); it is imported
here only, so answering never needs it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from knowledge.engine import Engine
from knowledge.evaluation import Labelled, right_answer
from knowledge.policy import FEATURES, AnswerPolicy

# A wrong answer (or an answer to a question the release does not cover)
# costs this many right ones. Fitted on field_questions.yaml with 5-fold
# cross-validation: 3 keeps wrong answers under 3 % of in-scope questions and
# refusals over 92 %, where 1 and 2 answered more wrongly and 4 and 5 gave
# away right answers for no fewer wrong ones.
WRONG_COST = 3.0
# L2 regularisation of the logistic regression (scikit-learn's C). The
# cross-validated figures moved by under a point between 0.3 and 3.
REGULARISATION = 1.0
# The folds of the cross-validation, and the seed of their shuffle.
FOLDS = 5
SEED = 2006


@dataclass(frozen=True)
class Sample:
    """One reading of one labelled message."""

    item: int
    values: tuple[float, ...]
    right: bool


@dataclass(frozen=True)
class LabelledSet:
    name: str
    items: Sequence[Labelled]


@dataclass
class Figures:
    """Decisions on one set of items: how many answered rightly, wrongly, refused."""

    in_scope: int = 0
    right: int = 0
    wrong: int = 0
    out_of_scope: int = 0
    refused: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "in_scope": self.in_scope,
            "answered_right": round(self.right / max(self.in_scope, 1), 3),
            "answered_wrong": round(self.wrong / max(self.in_scope, 1), 3),
            "out_of_scope": self.out_of_scope,
            "refused": round(self.refused / max(self.out_of_scope, 1), 3),
        }

    def __str__(self) -> str:
        return (
            f"right {100 * self.right / max(self.in_scope, 1):5.1f}%  "
            f"wrong {100 * self.wrong / max(self.in_scope, 1):4.1f}%  "
            f"of {self.in_scope} in scope; "
            f"refused {100 * self.refused / max(self.out_of_scope, 1):5.1f}% "
            f"of {self.out_of_scope} out of scope"
        )


def samples_of(engine: Engine, items: Sequence[Labelled]) -> list[Sample]:
    """Every reading of every item, labelled by whether its first entry is right."""
    samples = []
    for index, item in enumerate(items):
        language = item.language if item.language in ("en", "es") else "en"
        for reading in engine.assess(item.question):
            best = reading.ranking.best
            assert best is not None
            opened = engine.open(best.entry_id, language)  # type: ignore[arg-type]
            text = opened.plain_text() if opened is not None else ""
            right = right_answer(item, best.entry_id, text)
            values = tuple(reading.features[name] for name in FEATURES)
            samples.append(Sample(index, values, right))
    return samples


def fit(samples: Sequence[Sample], items: Sequence[Labelled]) -> AnswerPolicy:
    """Weights on all the samples, and the threshold that maximises the utility."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rows = [list(sample.values) for sample in samples]
    labels = [int(sample.right) for sample in samples]
    scaler = StandardScaler().fit(rows)
    model = LogisticRegression(C=REGULARISATION, max_iter=2000)
    model.fit(scaler.transform(rows), labels)
    # Back to the raw features, so answering is one dot product with no scaler.
    scales = [float(scale) or 1.0 for scale in scaler.scale_]
    weights = {
        name: float(coef / scale)
        for name, coef, scale in zip(FEATURES, model.coef_[0], scales, strict=True)
    }
    intercept = float(model.intercept_[0]) - sum(
        float(coef) * float(mean) / scale
        for coef, mean, scale in zip(model.coef_[0], scaler.mean_, scales, strict=True)
    )
    provisional = AnswerPolicy(weights, intercept, 0.5)
    threshold = best_threshold(provisional, samples, items)
    return AnswerPolicy(weights, intercept, threshold)


def decide(
    policy: AnswerPolicy, samples: Sequence[Sample], items: Sequence[Labelled]
) -> dict[int, tuple[float, bool]]:
    """Per item: the policy's probability for its surest reading, and whether that is right."""
    chosen: dict[int, tuple[float, bool]] = {}
    for sample in samples:
        probability = policy.probability(dict(zip(FEATURES, sample.values, strict=True)))
        if sample.item not in chosen or probability > chosen[sample.item][0]:
            chosen[sample.item] = (probability, sample.right)
    return chosen


def figures_at(
    threshold: float, chosen: dict[int, tuple[float, bool]], items: Sequence[Labelled]
) -> Figures:
    figures = Figures()
    for index, item in enumerate(items):
        probability, right = chosen.get(index, (0.0, False))
        answered = probability >= threshold
        if item.in_scope:
            figures.in_scope += 1
            figures.right += answered and right
            figures.wrong += answered and not right
        else:
            figures.out_of_scope += 1
            figures.refused += not answered
    return figures


def best_threshold(
    policy: AnswerPolicy, samples: Sequence[Sample], items: Sequence[Labelled]
) -> float:
    chosen = decide(policy, samples, items)
    candidates = sorted({round(p, 3) for p, _ in chosen.values() if 0.05 <= p <= 0.95})

    def utility(threshold: float) -> float:
        f = figures_at(threshold, chosen, items)
        return f.right - WRONG_COST * (f.wrong + (f.out_of_scope - f.refused))

    return max(candidates or [0.5], key=lambda t: (utility(t), -t))


def cross_validate(
    samples: Sequence[Sample], items: Sequence[Labelled], folds: int = FOLDS
) -> tuple[dict[int, tuple[float, bool]], dict[int, float]]:
    """Out-of-fold decisions: each item judged by a policy fitted without its fold.

    Returns each item's (probability, right) and the threshold of its fold.
    """
    order = list(range(len(items)))
    random.Random(SEED).shuffle(order)
    fold_of = {item: position % folds for position, item in enumerate(order)}
    decided: dict[int, tuple[float, bool]] = {}
    thresholds: dict[int, float] = {}
    for fold in range(folds):
        train_items = [i for i in range(len(items)) if fold_of[i] != fold]
        renumber = {old: new for new, old in enumerate(train_items)}
        train = [Sample(renumber[s.item], s.values, s.right) for s in samples if s.item in renumber]
        policy = fit(train, [items[i] for i in train_items])
        held = [s for s in samples if fold_of[s.item] == fold]
        for index, decision in decide(policy, held, items).items():
            decided[index] = decision
            thresholds[index] = policy.answer_at
    return decided, thresholds


def cross_validated_figures(
    decided: dict[int, tuple[float, bool]],
    thresholds: dict[int, float],
    items: Sequence[Labelled],
    indices: Sequence[int],
) -> Figures:
    figures = Figures()
    for index in indices:
        item = items[index]
        probability, right = decided.get(index, (0.0, False))
        answered = probability >= thresholds.get(index, 1.0)
        if item.in_scope:
            figures.in_scope += 1
            figures.right += answered and right
            figures.wrong += answered and not right
        else:
            figures.out_of_scope += 1
            figures.refused += not answered
    return figures


def calibrate(
    engine: Engine, sets: Sequence[LabelledSet], folds: int = FOLDS
) -> tuple[AnswerPolicy, dict[str, Figures]]:
    """Fit a policy on all the sets; figures per set, cross-validated."""
    items: list[Labelled] = [item for labelled in sets for item in labelled.items]
    samples = samples_of(engine, items)
    decided, thresholds = cross_validate(samples, items, folds)
    report: dict[str, Figures] = {}
    start = 0
    for labelled in sets:
        indices = range(start, start + len(labelled.items))
        report[labelled.name] = cross_validated_figures(decided, thresholds, items, indices)
        start += len(labelled.items)
    report["all"] = cross_validated_figures(decided, thresholds, items, range(len(items)))
    policy = fit(samples, items)
    about = {
        "fitted": date.today().isoformat(),
        "fitted_on": [f"{labelled.name} ({len(labelled.items)} messages)" for labelled in sets],
        "wrong_cost": WRONG_COST,
        "cross_validated": {
            "folds": folds,
            **{name: figures.as_dict() for name, figures in report.items()},
        },
    }
    return AnswerPolicy(policy.weights, policy.intercept, policy.answer_at, about), report
