"""What a reload reports as changed: the admin's check that their edit took."""

from __future__ import annotations

import pytest

from knowledge.loader import parse_knowledge
from knowledge.reload import diff
from knowledge.schema import KnowledgeBase
from tests.auxil.knowledge_fixtures import bundled_text, replace_once


def loaded(text: str) -> KnowledgeBase:
    parsed = parse_knowledge(text, "faq.yaml")
    assert parsed.knowledge is not None, parsed.problems
    return parsed.knowledge


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "    question_words: [when, where, cuando, donde]\n",
            "    question_words: [when, cuando]\n",
        ),
        ("    source: [2, 5]\n", "    source: [2]\n"),
    ],
    ids=["question words", "sources"],
)
def test_admin_who_edits_only_the_sessions_question_words_or_sources_sees_it_changed(old, new):
    original = bundled_text()
    edited = replace_once(original, old, new)

    assert diff(loaded(original), loaded(edited)) == ((), (), ("event",))


def test_reloading_the_same_file_changes_nothing():
    assert diff(loaded(bundled_text()), loaded(bundled_text())) == ((), (), ())
