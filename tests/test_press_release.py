"""Every sentence of the press release can be asked for, in English and in Spanish.

tests/data/press_release.yaml lists each sentence with the entry that answers
it and the facts that answer must carry. A reader who asks about any sentence
reaches an entry (through its title) whose answer states those facts in the
reader's language.
"""

from __future__ import annotations

import re

import pytest

from knowledge.answer import Kind
from knowledge.normalise import fold
from knowledge.schema import LANGUAGES
from tests.auxil.knowledge_fixtures import (
    bundled_engine,
    bundled_entry,
    press_release,
    source_document,
)

SENTENCES = press_release()["sentences"]


def alternatives(fact: str | list | dict, language: str) -> list[str]:
    """The ways a fact may be written in one language."""
    if isinstance(fact, dict):
        return alternatives(fact[language], language)
    if isinstance(fact, list):
        return [alt for item in fact for alt in alternatives(item, language)]
    return [fact]


def squeezed(text: str) -> str:
    return re.sub(r"[\s\-–]+", " ", fold(text).replace("*", ""))


def facts_missing(facts: list, text: str, language: str) -> list:
    said = squeezed(text)
    return [
        fact
        for fact in facts
        if not any(squeezed(alt) in said for alt in alternatives(fact, language))
    ]


CASES = [(sentence, lang) for sentence in SENTENCES for lang in LANGUAGES]


@pytest.mark.parametrize(
    ("sentence", "lang"),
    CASES,
    ids=[f"p{s['paragraph']}-{s['entry']}-{lang}" for s, lang in CASES],
)
def test_each_sentence_is_answered_with_its_facts(sentence, lang):
    entry = bundled_entry(sentence["entry"])

    answer = bundled_engine().open(entry.id, lang)

    assert answer is not None and answer.kind is Kind.ANSWER
    assert facts_missing(sentence["facts"], f"{answer.title}\n{answer.text}", lang) == []
    assert sentence["paragraph"] in entry.source, "the entry names the paragraph it answers"


def test_every_paragraph_of_the_release_has_a_sentence_and_an_entry():
    assert sorted({s["paragraph"] for s in SENTENCES}) == list(range(1, 18))


def test_the_fact_check_itself_fails_on_a_missing_fact():
    facts = [{"en": "Japan", "es": "Japón"}, "2005"]
    assert facts_missing(facts, "Cooperation with Japón in 2005", "es") == []
    assert facts_missing(facts, "Cooperation with the EU in 2005", "en") == [facts[0]]


def paragraphs(text: str) -> list[str]:
    return [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]


@pytest.fixture(scope="module")
def original() -> list[str]:
    path = source_document()
    if path is None:
        pytest.skip(
            "the original press release is not on this machine: set FAQBOT_SOURCE to it "
            "(CI finds it in ../shared/source/); the project's own copy of its facts is "
            "checked by the other tests"
        )
    return paragraphs(path.read_text(encoding="utf-8"))


def test_our_copy_of_the_sentences_is_the_original(original):
    assert len(original) == 17
    for sentence in SENTENCES:
        paragraph = original[sentence["paragraph"] - 1]
        assert sentence["opens"] in paragraph, sentence["opens"]
        for fact in sentence["facts"]:
            written = alternatives(fact, "en")
            assert any(squeezed(alt) in squeezed(paragraph) for alt in written), (
                f"paragraph {sentence['paragraph']} does not state {written}"
            )


def test_our_copy_of_the_numbers_and_addresses_is_the_original(original):
    text = "\n".join(original)
    facts = press_release()["facts"]
    assert set(re.findall(r"\d+", text)) == set(facts["numbers"])
    assert re.findall(r"[\w.]+@[\w.]+\w", text) == facts["emails"]
    for phone in facts["phones"]:
        assert phone in text
    for url in facts["urls"]:
        assert url in text
