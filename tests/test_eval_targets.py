"""Regression guards: the engine keeps the issue's targets on the labelled dev set.

If one of these fails after a change to the matcher or to faq.yaml, run
`faqbot eval tests/data/dev.tsv` to see the misses.
"""

from __future__ import annotations

import pytest

from knowledge.evaluation import Report, evaluate, format_report, read_labelled
from tests.auxil.knowledge_fixtures import DEV_SET, bundled_engine

IN_SCOPE_TOP_1 = 0.95
OUT_OF_SCOPE_REJECTED = 0.90
ANSWER_LANGUAGE = 0.98


@pytest.fixture(scope="module")
def report() -> Report:
    engine = bundled_engine()
    items = read_labelled(DEV_SET, (entry.id for entry in engine.knowledge.entries))
    return evaluate(engine, items)


def test_dev_set_has_questions_of_every_kind(report):
    assert report.overall(report.in_scope).total >= 100
    assert report.overall(report.out_of_scope).total >= 30
    assert set(report.language) == {"en", "es"}


def test_in_scope_questions_get_the_right_entry_first(report):
    tally = report.overall(report.in_scope)
    assert tally.rate >= IN_SCOPE_TOP_1, format_report(report)


def test_out_of_scope_questions_are_not_answered_confidently(report):
    tally = report.overall(report.out_of_scope)
    assert tally.rate >= OUT_OF_SCOPE_REJECTED, format_report(report)


def test_answers_come_in_the_language_of_the_question(report):
    tally = report.overall(report.language)
    assert tally.rate >= ANSWER_LANGUAGE, format_report(report)
