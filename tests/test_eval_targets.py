"""Regression guards: the engine keeps its figures on the labelled sets in tests/data.

These sets were also fitted on (`faqbot calibrate`), so they guard against a
change that breaks what worked; they are not the figures to report (the
README's come from cross-validation). If one fails after a change to the
matcher, the policy or faq.yaml, run `faqbot eval tests/data/dev.tsv` to see
the misses.
"""

from __future__ import annotations

import pytest

from knowledge.evaluation import Report, evaluate, format_report, read_labelled
from tests.auxil.knowledge_fixtures import DEV_SET, ROOT, bundled_engine

SETS = {
    # set: (answered right at least, answered wrong at most, refused at least)
    "dev.tsv": (0.95, 0.02, 0.90),
    "holdout.tsv": (0.88, 0.03, 0.90),
    "traps.tsv": (None, None, 0.90),
}
ANSWER_LANGUAGE = 0.98


@pytest.fixture(scope="module", params=sorted(SETS))
def measured(request) -> tuple[str, Report]:
    engine = bundled_engine()
    path = ROOT / "tests" / "data" / request.param
    items = read_labelled(path, (entry.id for entry in engine.knowledge.entries))
    return request.param, evaluate(engine, items)


def test_dev_set_has_questions_of_every_kind():
    engine = bundled_engine()
    items = read_labelled(DEV_SET, (entry.id for entry in engine.knowledge.entries))
    assert sum(item.in_scope for item in items) >= 100
    assert sum(not item.in_scope for item in items) >= 30
    assert {item.language for item in items} >= {"en", "es"}


def test_in_scope_questions_are_answered_rightly(measured):
    name, report = measured
    least_right, most_wrong, _ = SETS[name]
    if least_right is None:
        pytest.skip(f"{name} has no in-scope questions")
    assert report.right["all"].rate >= least_right, format_report(report)
    assert report.wrong["all"].rate <= most_wrong, format_report(report)


def test_out_of_scope_questions_are_not_answered(measured):
    name, report = measured
    assert report.refused["all"].rate >= SETS[name][2], format_report(report)


def test_answers_come_in_the_language_of_the_question(measured):
    _, report = measured
    assert report.language["all"].rate >= ANSWER_LANGUAGE, format_report(report)
