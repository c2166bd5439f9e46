"""Every fact the bot states comes from the press release, and every entry can be found.

A reader who asks for a date, a phone number or a web address must get
exactly what ECLAC published. So every number, year, e-mail, phone number and
web address in an answer (or in the press contact card), in either language,
must be one the press release states: tests/data/press_release.yaml keeps
them (and tests/test_press_release.py checks that file against the original
where it is available).
"""

from __future__ import annotations

import re

import pytest

from knowledge.answer import Kind
from knowledge.schema import LANGUAGES
from tests.auxil.knowledge_fixtures import (
    ENTRIES_DOC,
    bundled_engine,
    bundled_entry,
    bundled_loaded,
    press_release,
)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|www\.)[^\s<>()]+", re.IGNORECASE)
# A phone as people write it: "(56 9) 3376207", "+56 9 3376207", "(598) 9939170".
PHONE = re.compile(r"\+?\(?\d[\d ()]{5,}\d")
PHONE_MIN_DIGITS = 7
NUMBER = re.compile(r"\d+")
# The `recommendations` entry numbers its list "1." to "5."; those digits are
# list numbering, not facts, and the press release uses bullets instead.
LIST_NUMBERING = re.compile(r"^\s*[1-5]\.\s", re.MULTILINE)
LIST_NUMBERING_ALLOWED_IN = {"recommendations"}

KNOWLEDGE = bundled_loaded().knowledge
STATED = press_release()["facts"]


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


STATED_URLS = {url.casefold() for url in STATED["urls"]}
STATED_EMAILS = {email.casefold() for email in STATED["emails"]}
STATED_PHONES = {digits(phone) for phone in STATED["phones"]}
STATED_NUMBERS = set(STATED["numbers"])


def stated_url(url: str) -> bool:
    """A web address the release gives, or a shorter form of it ("www.eclac.cl/ps31/")."""
    folded = url.casefold()
    bare = folded.removeprefix("http://").removeprefix("https://")
    return any(folded in stated or bare in stated for stated in STATED_URLS)


def facts_missing_from_source(text: str) -> list[str]:
    """The facts of a text that the press release does not state."""
    missing = []
    for url in URL.findall(text):
        url = url.rstrip(".,;:")
        if not stated_url(url):
            missing.append(f"web address {url}")
    text = URL.sub(" ", text)
    for email in EMAIL.findall(text):
        if email.casefold() not in STATED_EMAILS:
            missing.append(f"e-mail {email}")
    text = EMAIL.sub(" ", text)
    for match in PHONE.finditer(text):
        phone = match.group()
        if len(digits(phone)) < PHONE_MIN_DIGITS:
            continue
        if not any(digits(phone) in stated for stated in STATED_PHONES):
            missing.append(f"phone {phone}")
        text = text.replace(phone, " ")
    for number in NUMBER.findall(text):
        if number not in STATED_NUMBERS:
            missing.append(f"number {number}")
    return missing


ENTRY_LANGUAGES = [(entry.id, lang) for entry in KNOWLEDGE.entries for lang in LANGUAGES]


@pytest.mark.parametrize(
    ("entry_id", "lang"),
    ENTRY_LANGUAGES,
    ids=[f"{entry_id}-{lang}" for entry_id, lang in ENTRY_LANGUAGES],
)
def test_reader_gets_only_facts_the_press_release_states(entry_id, lang):
    entry = bundled_entry(entry_id)
    answer = entry.answer(lang)
    if entry_id in LIST_NUMBERING_ALLOWED_IN:
        answer = LIST_NUMBERING.sub(" ", answer)

    assert facts_missing_from_source(f"{entry.title(lang)}\n{answer}") == []


def test_fact_check_itself_catches_a_wrong_phone_year_and_address():
    # The check above must be able to fail: one wrong digit of each kind.
    wrong = (
        "Mobile: (56 9) 3376208. Dates: 20–24 March 2007. "
        "E-mail: victor.fernandes@cepal.org. Web: http://www.ECLAC.cl/ps32/default.asp"
    )
    assert facts_missing_from_source(wrong) == [
        "web address http://www.ECLAC.cl/ps32/default.asp",
        "e-mail victor.fernandes@cepal.org",
        "phone (56 9) 3376208",
        "number 2007",
    ]
    right = "Mobile: +56 9 3376207 or (598) 9939170. 20–24 March 2006, http://www.eclac.cl/ps31/"
    assert facts_missing_from_source(right) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_journalist_saves_a_contact_card_that_matches_the_press_release(lang):
    contact = KNOWLEDGE.contact

    assert contact.email.casefold() in STATED_EMAILS
    assert stated_url(contact.website)
    for phone in contact.phones:
        assert len(digits(phone)) >= PHONE_MIN_DIGITS
        assert digits(phone) in STATED_PHONES, phone
    block = "\n".join(
        [contact.title(lang), contact.organisation(lang), *contact.phones, contact.email]
    )
    assert facts_missing_from_source(block) == []
    sentence = next(s for s in press_release()["sentences"] if s["entry"] == "contact")
    assert contact.full_name in sentence["facts"]
    assert {"en": contact.title.en, "es": contact.title.es} in sentence["facts"]


# The entries the docs promise ----------------------------------------------------


def documented_entries() -> dict[str, str]:
    """Entry id -> topic, from the table in docs/entries.md."""
    rows = {}
    for line in ENTRIES_DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"[a-z0-9][a-z0-9-]*", cells[0]) and cells[0] != "id":
            rows[cells[0]] = cells[1]
    return rows


DOCUMENTED = documented_entries()


def test_docs_list_the_entries_at_all():
    assert len(DOCUMENTED) >= 20
    assert DOCUMENTED["contact"] == "contact"


@pytest.mark.parametrize("entry_id", sorted(DOCUMENTED))
def test_every_documented_entry_exists_under_its_topic(entry_id):
    entry = KNOWLEDGE.entry(entry_id)

    assert entry is not None, f"docs/entries.md lists {entry_id!r}, faq.yaml does not have it"
    assert entry.topic == DOCUMENTED[entry_id]


def test_every_entry_of_the_knowledge_base_is_documented():
    assert sorted(entry.id for entry in KNOWLEDGE.entries if entry.id not in DOCUMENTED) == []


# Each recommendation and each forum can be asked for on its own --------------------

LIST_ENTRIES = [
    entry.id for entry in KNOWLEDGE.entries if entry.topic in ("recommendations", "forums")
]


@pytest.mark.parametrize("entry_id", LIST_ENTRIES)
@pytest.mark.parametrize(
    ("lang", "template"),
    [("en", "Tell me about {title}"), ("es", "Háblame de {title}")],
    ids=["en", "es"],
)
def test_reader_asks_about_one_recommendation_or_forum_by_its_title(entry_id, lang, template):
    question = template.format(title=bundled_entry(entry_id).title(lang))

    answer = bundled_engine().ask(question)

    assert answer.kind is Kind.ANSWER, (question, answer.kind, answer.suggestions)
    assert answer.entry_id == entry_id
    assert answer.language == lang


def test_there_are_five_recommendations_and_several_forums_to_reach():
    recommendations = [e for e in LIST_ENTRIES if bundled_entry(e).topic == "recommendations"]
    assert {"rec-protection", "rec-women-migrants", "recommendations"} <= set(recommendations)
    assert {"forums", "regional-conference-on-migration", "iom"} <= set(LIST_ENTRIES)
