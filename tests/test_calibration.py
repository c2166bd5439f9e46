"""A curator refits the answer policy on labelled questions and reads honest figures.

`faqbot calibrate` fits the policy's weights and threshold, reports each set
cross-validated (every fold judged by a policy fitted without it), and writes
a policy file the bot can load. The bundled policy file says what it was
fitted on and how it did.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from knowledge.calibration import (
    SEED,
    LabelledSet,
    cross_validate,
    fit,
    samples_of,
    shuffled_means,
    summary,
)
from knowledge.evaluation import measure, read_labelled, report_of
from knowledge.policy import FEATURES, AnswerPolicy, bundled_policy_path
from tests.auxil.knowledge_fixtures import DEV_SET, ROOT, bundled_engine

TRAPS = ROOT / "tests" / "data" / "traps.tsv"


def test_curator_refits_the_policy_and_the_bot_can_load_it(tmp_path):
    written = tmp_path / "policy.yaml"

    run = subprocess.run(
        [sys.executable, "-m", "bot", "calibrate", "--folds", "3", "--write", "--output",
         str(written), str(DEV_SET), str(TRAPS)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    assert "== dev.tsv: cross-validated (3 folds by message)" in run.stdout
    assert "== traps.tsv: cross-validated (3 folds by message)" in run.stdout
    policy = AnswerPolicy.read(written)
    assert set(policy.weights) == set(FEATURES)
    assert 0 < policy.answer_at < 1
    figures = policy.about["cross_validated"]["dev.tsv"]
    assert figures["answered_right"] > 0.8
    assert policy.about["cross_validated"]["traps.tsv"]["out_of_scope_refused"] > 0.8


def test_cross_validation_judges_every_question_once_with_a_policy_fitted_without_it():
    engine = bundled_engine()
    ids = [entry.id for entry in engine.knowledge.entries]
    items = read_labelled(DEV_SET, ids) + read_labelled(TRAPS, ids)
    samples = samples_of(engine, items)

    outcomes = cross_validate(engine, samples, items, folds=3)

    assert [outcome.item for outcome in outcomes] == items
    report = report_of(outcomes)
    assert report.right["all"].total == sum(item.in_scope for item in items)
    assert report.refused["all"].total == sum(not item.in_scope for item in items)
    # Fitted on everything, the policy is judged on what it saw: never the
    # figure to report, and no worse than the held-out one.
    everything = fit(engine, samples, items)
    seen = report_of(measure(engine.with_policy(everything), items))
    assert seen.right["all"].rate >= report.right["all"].rate - 0.02


def test_the_bundled_policy_says_what_it_was_fitted_on_and_how_it_did():
    policy = AnswerPolicy.read(bundled_policy_path())

    assert policy.about["fitted_on"]
    assert policy.about["cross_validated"]["folds"] >= 5
    for figures in policy.about["cross_validated"].values():
        if isinstance(figures, dict):
            assert 0 <= figures["answer_language"] <= 1


def test_a_curator_averages_cross_validations_over_differently_shuffled_folds():
    """`--shuffles N`: one split moves a rate by a point or two; N splits average it."""
    engine = bundled_engine()
    ids = [entry.id for entry in engine.knowledge.entries]
    dev, traps = read_labelled(DEV_SET, ids), read_labelled(TRAPS, ids)
    items = dev + traps
    samples = samples_of(engine, items)
    sets = [LabelledSet("dev.tsv", dev), LabelledSet("traps.tsv", traps)]
    runs = []
    for shuffle in range(2):
        outcomes = cross_validate(engine, samples, items, 3, seed=SEED + shuffle)
        runs.append(summary(report_of(outcomes[: len(dev)])))

    means = shuffled_means(engine, sets, folds=3, shuffles=2)

    for rate in ("answered_right", "answered_wrong"):
        assert means["dev.tsv"][rate] == pytest.approx((runs[0][rate] + runs[1][rate]) / 2)
    assert set(means["traps.tsv"]) == {"out_of_scope_refused", "answer_language"}
