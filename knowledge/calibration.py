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
from dataclasses import dataclass, replace
from datetime import date

from knowledge.answer import Kind
from knowledge.engine import Engine
from knowledge.evaluation import Labelled, Outcome, Report, measure, report_of, right_answer
from knowledge.policy import FEATURES, AnswerPolicy
from knowledge.schema import Language

# A wrong answer (or an answer to a question the release does not cover)
# costs this many right ones. Measured on field_questions.yaml, 5-fold
# cross-validated (answered right / wrong): 2 and 3 gave 83.3 % / 4.7 %, 4 gave
# 81.0 % / 3.7 %, 6 gave 69.7 % / 2.7 %: past 3, each wrong answer saved costs
# several right ones.
WRONG_COST = 3.0
# L2 regularisation of the logistic regression (scikit-learn's C). Measured
# the same way (right / wrong): 0.3 gave 82.7 % / 3.3 %, 1 gave 83.7 % / 3.7 %,
# 3 gave 85.7 % / 4.0 %, 10 gave 85.0 % / 4.0 %; 1 keeps wrong answers lowest
# for the right answers it gives.
REGULARISATION = 1.0
# The range the answer threshold is chosen in: answering below a one-in-twenty
# chance, or refusing above nineteen-in-twenty, is never what a reader wants.
MIN_THRESHOLD, MAX_THRESHOLD = 0.05, 0.95
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
    """Decisions of a policy alone on a set of items, for choosing its threshold."""

    in_scope: int = 0
    right: int = 0
    wrong: int = 0
    out_of_scope: int = 0
    refused: int = 0


def samples_of(engine: Engine, items: Sequence[Labelled]) -> list[Sample]:
    """Every reading of every item, labelled by whether its first entry is right."""
    samples = []
    for index, item in enumerate(items):
        language: Language = "es" if item.language == "es" else "en"
        for reading in engine.assess(item.question):
            best = reading.ranking.best
            assert best is not None
            opened = engine.open(best.entry_id, language)
            text = opened.plain_text() if opened is not None else ""
            right = right_answer(item, best.entry_id, text)
            values = tuple(reading.features[name] for name in FEATURES)
            samples.append(Sample(index, values, right))
    return samples


def fit(engine: Engine, samples: Sequence[Sample], items: Sequence[Labelled]) -> AnswerPolicy:
    """Weights on all the samples, and the threshold that maximises the utility.

    The threshold is chosen on the engine's real decisions: an answer that the
    release's values or kinds of fact turn into "the release does not say"
    (knowledge/engine.py) is no answer, whatever the threshold.
    """
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
    threshold = best_threshold(engine, provisional, samples, items)
    return AnswerPolicy(weights, intercept, threshold)


def decide(
    policy: AnswerPolicy, samples: Sequence[Sample], items: Sequence[Labelled]
) -> dict[int, tuple[float, bool]]:
    """Per item: the probability of its surest reading, as the engine judges it (the
    topic's, see AnswerPolicy.topic_probability), and whether that reading is right."""
    chosen: dict[int, tuple[float, bool]] = {}
    for sample in samples:
        values = dict(zip(FEATURES, sample.values, strict=True))
        probability = policy.topic_probability(values)
        if sample.item not in chosen or probability > chosen[sample.item][0]:
            chosen[sample.item] = (probability, sample.right)
    return chosen


def figures_at(
    threshold: float,
    chosen: dict[int, tuple[float, bool]],
    items: Sequence[Labelled],
    withheld: set[int],
) -> Figures:
    figures = Figures()
    for index, item in enumerate(items):
        probability, right = chosen.get(index, (0.0, False))
        answered = probability >= threshold and index not in withheld
        if item.in_scope:
            figures.in_scope += 1
            figures.right += answered and right
            figures.wrong += answered and not right
        else:
            figures.out_of_scope += 1
            figures.refused += not answered
    return figures


def best_threshold(
    engine: Engine, policy: AnswerPolicy, samples: Sequence[Sample], items: Sequence[Labelled]
) -> float:
    chosen = decide(policy, samples, items)
    # What the engine would never answer, at any threshold: ask with the
    # lowest one and see which answers the release's claims withhold.
    answering = engine.with_policy(replace(policy, answer_at=MIN_THRESHOLD))
    withheld = {
        index
        for index, item in enumerate(items)
        if answering.ask(item.question).kind is Kind.NOT_STATED
    }
    candidates = sorted(
        {round(p, 3) for p, _ in chosen.values() if MIN_THRESHOLD <= p <= MAX_THRESHOLD}
    )

    def utility(threshold: float) -> float:
        f = figures_at(threshold, chosen, items, withheld)
        return f.right - WRONG_COST * (f.wrong + (f.out_of_scope - f.refused))

    return max(candidates or [0.5], key=lambda t: (utility(t), -t))


def cross_validate(
    engine: Engine,
    samples: Sequence[Sample],
    items: Sequence[Labelled],
    folds: int = FOLDS,
    seed: int = SEED,
) -> list[Outcome]:
    """Out-of-fold outcomes: each item answered by the engine under a policy fitted
    (weights and threshold) without its fold, in the items' order."""
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    fold_of = {item: position % folds for position, item in enumerate(order)}
    outcomes: dict[int, Outcome] = {}
    for fold in range(folds):
        train_items = [i for i in range(len(items)) if fold_of[i] != fold]
        renumber = {old: new for new, old in enumerate(train_items)}
        train = [Sample(renumber[s.item], s.values, s.right) for s in samples if s.item in renumber]
        policy = fit(engine, train, [items[i] for i in train_items])
        held = [i for i in range(len(items)) if fold_of[i] == fold]
        judged = measure(engine.with_policy(policy), [items[i] for i in held])
        outcomes.update(zip(held, judged, strict=True))
    return [outcomes[i] for i in range(len(items))]


def calibrate(
    engine: Engine, sets: Sequence[LabelledSet], folds: int = FOLDS
) -> tuple[AnswerPolicy, dict[str, Report]]:
    """Fit a policy on all the sets; a report per set, cross-validated."""
    items: list[Labelled] = [item for labelled in sets for item in labelled.items]
    samples = samples_of(engine, items)
    outcomes = cross_validate(engine, samples, items, folds)
    reports: dict[str, Report] = {}
    start = 0
    for labelled in sets:
        reports[labelled.name] = report_of(outcomes[start : start + len(labelled.items)])
        start += len(labelled.items)
    policy = fit(engine, samples, items)
    about = {
        "fitted": date.today().isoformat(),
        "fitted_on": [f"{labelled.name} ({len(labelled.items)} messages)" for labelled in sets],
        "wrong_cost": WRONG_COST,
        "cross_validated": {
            "folds": folds,
            **{name: summary(report) for name, report in reports.items()},
        },
    }
    return AnswerPolicy(policy.weights, policy.intercept, policy.answer_at, about), reports


def shuffled_means(
    engine: Engine, sets: Sequence[LabelledSet], folds: int = FOLDS, shuffles: int = 4
) -> dict[str, dict[str, float]]:
    """Each set's headline rates, averaged over cross-validations with differently
    shuffled folds.

    One split of a few hundred messages moves a rate by a point or two (a
    fold's threshold may land anywhere on a flat stretch of the utility), as
    much as many a change being measured; the mean of several splits does not.
    """
    items: list[Labelled] = [item for labelled in sets for item in labelled.items]
    samples = samples_of(engine, items)
    totals: dict[str, dict[str, float]] = {}
    for shuffle in range(shuffles):
        outcomes = cross_validate(engine, samples, items, folds, seed=SEED + shuffle)
        start = 0
        for labelled in sets:
            report = report_of(outcomes[start : start + len(labelled.items)])
            start += len(labelled.items)
            for name, rate in summary(report).items():
                totals.setdefault(labelled.name, {}).setdefault(name, 0.0)
                totals[labelled.name][name] += rate / shuffles
    return totals


def summary(report: Report) -> dict[str, float]:
    """The headline rates of a report, for the policy file."""
    rates = {
        "answered_right": report.right.get("all"),
        "answered_wrong": report.wrong.get("all"),
        "out_of_scope_refused": report.refused.get("all"),
        "answer_language": report.language.get("all"),
    }
    return {name: round(tally.rate, 3) for name, tally in rates.items() if tally is not None}
