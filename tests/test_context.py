"""A conversation, not a lookup: follow-ups, yes/no questions and "the release does not say".

The engine is pure: the caller hands it the last topic. These scenarios run
the engine the way the Telegram handlers, the terminal chat and `faqbot ask
--context` do; tests/test_telegram_context.py runs them through Telegram.
"""

from __future__ import annotations

import pytest

from handlers.topics import RecentTopics
from knowledge.answer import Answer, Kind
from knowledge.context import is_follow_up
from tests.auxil.knowledge_fixtures import bundled_engine, bundled_entry


def conversation(*messages: str) -> list[Answer]:
    """Ask one message after another, each in the light of the topic before."""
    engine = bundled_engine()
    topic: str | None = None
    answers = []
    for message in messages:
        answer = engine.ask(message, context=topic)
        topic = answer.topic or topic
        answers.append(answer)
    return answers


# Follow-ups ---------------------------------------------------------------------------


def test_reader_asks_when_it_was_created_after_the_regional_conference():
    first, follow_up = conversation(
        "what is the regional conference on migration?", "when was it created?"
    )

    assert first.entry_id == follow_up.entry_id == "regional-conference-on-migration"
    assert follow_up.kind is Kind.ANSWER
    assert "1996" in follow_up.text
    assert follow_up.why is not None and follow_up.why.in_context


def test_the_same_follow_up_without_a_topic_assumes_nothing():
    [alone] = conversation("when was it created?")

    assert alone.kind is not Kind.ANSWER


def test_spanish_reader_asks_where_and_how_many_founded_the_south_american_one():
    _, how_many, where, when = conversation(
        "¿qué es la conferencia sudamericana sobre migraciones?",
        "¿y cuántos países la fundaron?",
        "¿y dónde?",
        "¿cuándo se fundó?",
    )

    for answer in (how_many, where, when):
        assert answer.entry_id == "south-american-conference-on-migration"
        assert answer.language == "es"
    assert "12" in how_many.text
    assert "Buenos Aires" in where.text
    assert "2000" in when.text


def test_naming_another_topic_switches_to_it():
    _, switched = conversation(
        "what is the regional conference on migration?", "and the South American one?"
    )

    assert switched.entry_id == "south-american-conference-on-migration"
    assert switched.why is not None and not switched.why.in_context


def test_a_follow_up_the_topic_cannot_answer_is_said_so_about_that_topic():
    # The release says 12 countries founded the South American conference, but
    # gives no number for the Regional Conference.
    _, how_many = conversation("what is the regional conference on migration?", "and how many?")

    assert how_many.kind is Kind.NOT_STATED
    assert not how_many.matched
    assert how_many.suggestions[0].entry_id == "regional-conference-on-migration"
    assert how_many.text.startswith(bundled_engine().text("not_stated_number", "en").split("“")[0])


def test_an_unrelated_message_after_a_topic_is_not_read_as_a_follow_up():
    _, joke = conversation("where is the session?", "tell me a joke")

    assert joke.kind is Kind.FALLBACK


@pytest.mark.parametrize(
    ("message", "follows"),
    [
        ("when was it created?", True),
        ("and how many countries?", True),
        ("¿y dónde?", True),
        ("what about Japan?", True),
        ("who signed it?", True),
        ("what does ECLAC recommend about women migrants and domestic workers?", False),
        ("Who is the press contact for the thirty-first session?", False),
    ],
)
def test_which_messages_may_lean_on_the_previous_topic(message, follows):
    assert is_follow_up(message) is follows


def test_topics_are_forgotten_after_their_time_and_kept_apart_per_chat():
    now = [0.0]
    topics = RecentTopics(minutes=5, most=2, clock=lambda: now[0])
    topics.set("chat 1", "event")
    topics.set("chat 2", "contact")

    assert topics.get("chat 1") == "event" and topics.get("chat 2") == "contact"
    assert topics.get("chat 3") is None
    now[0] = 5 * 60 + 1
    assert topics.get("chat 1") is None
    topics.set("chat 3", "forums")
    topics.set("chat 4", "theme")
    topics.set("chat 5", "iom")
    assert len(topics) == 2  # bounded: the oldest go first
    topics.set("chat 5", None)  # /start forgets
    assert topics.get("chat 5") is None


# Yes/no questions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Did Chile sign the migrant workers convention?", "en"),
        ("¿Chile firmó la convención sobre los trabajadores migratorios?", "es"),
    ],
)
def test_a_stated_value_gets_a_yes_first(question, lang):
    answer = bundled_engine().ask(question)

    assert answer.kind is Kind.ANSWER
    assert answer.entry_id == "migrant-workers-convention"
    yes = bundled_engine().text("claim_yes", lang)
    assert answer.text == f"{yes}\n{bundled_entry('migrant-workers-convention').answer(lang)}"


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Is the ECLAC session taking place in Santiago?", "en"),
        ("¿La reunión de la CEPAL se celebra en Santiago?", "es"),
    ],
)
def test_a_value_the_release_contradicts_is_corrected(question, lang):
    answer = bundled_engine().ask(question)

    assert answer.kind is Kind.ANSWER
    assert answer.entry_id == "event"
    first_line, rest = answer.text.split("\n", 1)
    assert first_line == bundled_engine().text("claim_no", lang).format(named="Santiago")
    assert "Montevideo" in rest


@pytest.mark.parametrize(
    ("question", "lang", "named"),
    [
        ("Did Argentina sign the migrant workers convention?", "en", "Argentina"),
        ("¿Brasil firmó la convención sobre los trabajadores migratorios?", "es", "Brasil"),
    ],
)
def test_a_value_an_incomplete_list_does_not_hold_is_not_denied(question, lang, named):
    answer = bundled_engine().ask(question)

    assert answer.kind is Kind.NOT_STATED
    assert not answer.matched
    lead = bundled_engine().text("claim_not_listed", lang).format(named=named)
    assert answer.text.startswith(lead)
    assert "Chile" in answer.text  # then what it does list
    assert answer.suggestions[0].entry_id == "migrant-workers-convention"


def test_yes_no_about_a_value_the_entry_does_not_state_is_named_honestly():
    answer = bundled_engine().ask("Has Uruguay ratified the trafficking protocol?")

    assert answer.kind is Kind.NOT_STATED
    assert "Uruguay" in answer.text.split("\n", 1)[0]


# "The release does not say" -------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "lang", "entry_id", "kind"),
    [
        ("Where was the 2005 Ibero-American Summit held?", "en", "ibero-american-summit", "place"),
        ("¿Dónde se celebró la Cumbre Iberoamericana de 2005?", "es", "ibero-american-summit",
         "place"),
        ("What was the outcome of the High-Level Dialogue?", "en", "un-high-level-dialogue",
         "outcome"),
        ("¿Cuál fue el resultado del Diálogo de Alto Nivel?", "es", "un-high-level-dialogue",
         "outcome"),
        ("Who chairs the Ad Hoc Committee on Population and Development?", "en",
         "ad-hoc-committee", "who"),
    ],
)  # fmt: skip
def test_a_fact_the_release_does_not_give_is_said_so_then_what_it_does_say(
    question, lang, entry_id, kind
):
    engine = bundled_engine()
    answer = engine.ask(question)

    assert answer.kind is Kind.NOT_STATED
    assert not answer.matched and answer.to_json()["matched"] is False
    assert answer.suggestions[0].entry_id == entry_id
    entry = bundled_entry(entry_id)
    lead = engine.text(f"not_stated_{kind}", lang).format(title=entry.title(lang))
    assert answer.text == f"{lead}\n{entry.answer(lang)}"


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("When was the Ibero-American Summit?", "ibero-american-summit"),
        ("Where was the South American Conference on Migration founded?",
         "south-american-conference-on-migration"),
        ("¿Quién es el contacto de prensa?", "contact"),
    ],
)  # fmt: skip
def test_a_question_whose_kind_the_entry_holds_still_gets_the_answer(question, entry_id):
    answer = bundled_engine().ask(question)

    assert answer.kind is Kind.ANSWER
    assert answer.entry_id == entry_id


def test_is_there_and_that_do_not_point_back():
    assert not is_follow_up("Is there a glossary of acronyms in the press release?")
    assert not is_follow_up("Does the release say that migration matters locally?")


@pytest.mark.parametrize(
    ("question", "lang", "first_line"),
    [
        ("Is the session in March?", "en", "Yes."),
        ("¿La sesión de la CEPAL es en abril?", "es",
         "No, no es abril. Esto es lo que dice el comunicado:"),
    ],
)  # fmt: skip
def test_a_month_is_confirmed_or_corrected_in_the_readers_language(question, lang, first_line):
    answer = bundled_engine().ask(question)

    assert answer.kind is Kind.ANSWER and answer.entry_id == "event"
    assert answer.text.split("\n", 1)[0] == first_line


def test_who_leads_a_body_the_release_does_not_name_is_said_so():
    answer = bundled_engine().ask("¿Quién dirige el CELADE?")

    assert answer.kind is Kind.NOT_STATED
    assert answer.text.startswith("El comunicado no dice quién lo dirige")
