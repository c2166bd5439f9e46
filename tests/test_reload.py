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


def test_a_reload_in_the_middle_of_an_answer_never_mixes_two_knowledge_bases():
    """Every part of one answer comes from the bundle live when the question arrived."""
    from knowledge.engine import Engine, Loaded
    from knowledge.loader import parse_knowledge
    from tests.auxil.knowledge_fixtures import bundled_loaded

    changed = replace_once(bundled_text(), "Hello! 👋 I'm faqbot.", "Hi! 👋 I'm the new faqbot.")
    renamed = parse_knowledge(changed)
    assert renamed.knowledge is not None
    old = bundled_loaded()

    class ReloadWhileRanking:
        """The admin's /reload lands while this question is being ranked."""

        def rank(self, *args, **kwargs):
            engine.swap(Loaded.build(renamed.knowledge))
            return old.matcher.rank(*args, **kwargs)

    engine = Engine(Loaded(old.knowledge, ReloadWhileRanking(), old.detector))

    answer = engine.ask("hello")

    assert engine.knowledge is renamed.knowledge  # the reload happened
    assert answer.text.startswith("Hello! 👋 I'm faqbot.")  # the answer is the old one's
