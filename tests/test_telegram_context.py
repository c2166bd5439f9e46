"""A conversation in Telegram: follow-ups in context, yes/no answers, "the release does not say".

The real application over real HTTP against the strict fake Bot API, as in
tests/test_telegram_conversations.py. Each scenario is a person typing in a
chat; what the bot should say comes from its own engine and texts.
"""

from __future__ import annotations

import asyncio

import pytest

from handlers import callback_data
from tests.auxil.conversation import ask, buttons, engine_of, press, running, visible
from tests.auxil.fake_bot_api import BOT_USERNAME, DEFAULT_USER_ID

RCM = "what is the regional conference on migration?"
RCM_TITLE_EN = "Regional Conference on Migration (Puebla, 1996)"


def title(engine, entry_id: str, language: str) -> str:
    entry = engine.knowledge.entry(entry_id)
    assert entry is not None
    return entry.title(language)


async def test_a_reader_asks_when_it_was_created_and_the_bot_knows_what_it_is(running_bot):
    app, fake = running_bot
    engine = engine_of(app)

    [first] = await ask(fake, RCM, user_id=7001)
    [follow_up] = await ask(fake, "when was it created?", user_id=7001)

    rcm = title(engine, "regional-conference-on-migration", "en")
    assert visible(first).startswith(rcm)
    assert visible(follow_up).startswith(rcm)
    assert "1996" in visible(follow_up)
    assert fake.errors() == []


async def test_a_spanish_reader_asks_how_many_countries_and_where_without_naming_it(running_bot):
    app, fake = running_bot
    engine = engine_of(app)
    sacm = title(engine, "south-american-conference-on-migration", "es")

    await ask(fake, "¿qué es la conferencia sudamericana sobre migraciones?", user_id=7002)
    [how_many] = await ask(fake, "¿y cuántos países la fundaron?", user_id=7002)
    [where] = await ask(fake, "¿y dónde?", user_id=7002)

    assert visible(how_many).startswith(sacm) and "12 países" in visible(how_many)
    assert visible(where).startswith(sacm) and "Buenos Aires" in visible(where)
    assert fake.errors() == []


async def test_another_chat_has_no_context_and_nothing_is_assumed(running_bot):
    app, fake = running_bot
    engine = engine_of(app)

    await ask(fake, RCM, user_id=7003)
    [elsewhere] = await ask(fake, "when was it created?", user_id=7004)

    assert not visible(elsewhere).startswith(
        title(engine, "regional-conference-on-migration", "en")
    )
    assert "1996" not in visible(elsewhere)
    assert fake.errors() == []


async def test_in_a_group_one_members_follow_up_does_not_lean_on_anothers_question(running_bot):
    app, fake = running_bot
    engine = engine_of(app)
    group = -100_700_5
    rcm = title(engine, "regional-conference-on-migration", "en")

    await ask(fake, f"@{BOT_USERNAME} {RCM}", user_id=7005, chat_id=group, chat_type="group")
    [own] = await ask(
        fake, f"@{BOT_USERNAME} when was it created?", user_id=7005, chat_id=group,
        chat_type="group",
    )  # fmt: skip
    [other] = await ask(
        fake, f"@{BOT_USERNAME} when was it created?", user_id=7006, chat_id=group,
        chat_type="group",
    )  # fmt: skip

    assert visible(own).startswith(rcm)
    assert not visible(other).startswith(rcm)
    assert fake.errors() == []


async def test_naming_another_topic_switches_and_start_forgets(running_bot):
    app, fake = running_bot
    engine = engine_of(app)

    await ask(fake, RCM, user_id=7007)
    [switched] = await ask(fake, "and the South American one?", user_id=7007)
    await ask(fake, "/start", user_id=7007)
    [fresh] = await ask(fake, "¿y dónde?", user_id=7007)

    sacm = title(engine, "south-american-conference-on-migration", "en")
    assert visible(switched).startswith(sacm)
    assert "Buenos Aires" not in visible(fresh)
    assert fake.errors() == []


async def test_a_follow_up_button_sets_the_topic_of_the_next_question(running_bot):
    app, fake = running_bot
    engine = engine_of(app)

    [first] = await ask(fake, RCM, user_id=7008)
    [south] = [
        b for b in buttons(first)
        if isinstance(callback_data.decode(b.get("callback_data", "")), callback_data.Open)
        and "south-american-conference-on-migration" in b["callback_data"]
    ]  # fmt: skip
    await press(fake, south["callback_data"], first.result, replies=1, user_id=7008)
    [where] = await ask(fake, "and where was it founded?", user_id=7008)

    assert visible(where).startswith(title(engine, "south-american-conference-on-migration", "en"))
    assert "Buenos Aires" in visible(where)
    assert fake.errors() == []


async def test_the_topic_is_forgotten_after_its_time(fake, make_config, tmp_path):
    config = make_config(tmp_path, fake, conversation={"context_minutes": 0.002})
    async with running(config, fake) as app:
        engine = engine_of(app)
        await ask(fake, RCM, user_id=7009)
        await asyncio.sleep(0.3)  # 0.002 minutes are 0.12 seconds
        [later] = await ask(fake, "when was it created?", user_id=7009)

        assert not visible(later).startswith(
            title(engine, "regional-conference-on-migration", "en")
        )
        assert fake.errors() == []


# Yes/no and "the release does not say" ------------------------------------------------------


async def test_a_journalist_checking_a_signatory_gets_yes_first(running_bot):
    app, fake = running_bot
    engine = engine_of(app)

    [reply] = await ask(fake, "Did Chile sign the migrant workers convention?", user_id=7010)

    lines = visible(reply).splitlines()
    assert lines[0] == title(engine, "migrant-workers-convention", "en")
    assert engine.text("claim_yes", "en") in lines[1:3]
    assert fake.errors() == []


async def test_a_country_the_release_does_not_list_is_named_honestly_in_spanish(running_bot):
    app, fake = running_bot
    engine = engine_of(app)

    [reply] = await ask(
        fake, "¿Brasil firmó la convención sobre los trabajadores migratorios?", user_id=7011,
        language_code="es",
    )  # fmt: skip

    shown = visible(reply)
    assert shown.startswith(engine.text("claim_not_listed", "es").format(named="Brasil"))
    assert "Chile" in shown  # then the countries it does list
    assert fake.errors() == []


async def test_the_release_does_not_say_where_the_summit_met_and_offers_what_it_does_say(
    running_bot,
):
    app, fake = running_bot
    engine = engine_of(app)

    [reply] = await ask(fake, "Where was the 2005 Ibero-American Summit held?", user_id=7012)

    summit = title(engine, "ibero-american-summit", "en")
    lead = engine.text("not_stated_place", "en").format(title=summit)
    assert visible(reply).startswith(lead)
    assert "2005" in visible(reply)
    # The topic's entry is offered as a choice.
    assert any("ibero-american-summit" in b.get("callback_data", "") for row in
               reply.params["reply_markup"]["inline_keyboard"] for b in row)  # fmt: skip
    assert fake.errors() == []


@pytest.mark.parametrize(
    ("question", "language", "first_line"),
    [
        ("Did Chile sign the migrant workers convention?", "en",
         lambda e: e.text("claim_yes", "en")),
        ("¿Chile firmó la convención sobre los trabajadores migratorios?", "es",
         lambda e: e.text("claim_yes", "es")),
        ("Is the ECLAC session taking place in Santiago?", "en",
         lambda e: e.text("claim_no", "en").format(named="Santiago")),
        ("¿La reunión de la CEPAL se celebra en Santiago?", "es",
         lambda e: e.text("claim_no", "es").format(named="Santiago")),
        ("Did Argentina sign the migrant workers convention?", "en",
         lambda e: e.text("claim_not_listed", "en").format(named="Argentina")),
        ("¿Dónde se celebró la Cumbre Iberoamericana de 2005?", "es",
         lambda e: e.text("not_stated_place", "es").format(
             title=title(e, "ibero-american-summit", "es"))),
        ("What was the outcome of the High-Level Dialogue?", "en",
         lambda e: e.text("not_stated_outcome", "en").format(
             title=title(e, "un-high-level-dialogue", "en"))),
    ],
)  # fmt: skip
async def test_what_the_release_says_leads_the_reply_in_both_languages(
    running_bot, question, language, first_line
):
    app, fake = running_bot
    engine = engine_of(app)

    [reply] = await ask(fake, question, user_id=7020, language_code=language)

    assert first_line(engine) in visible(reply).splitlines()[:3]
    assert fake.errors() == []


@pytest.mark.parametrize(
    ("question", "language", "entry_id"),
    [
        ("When was the Ibero-American Summit?", "en", "ibero-american-summit"),
        ("¿Dónde se fundó la Conferencia Sudamericana sobre Migraciones?", "es",
         "south-american-conference-on-migration"),
    ],
)  # fmt: skip
async def test_a_question_whose_kind_the_entry_holds_gets_the_answer_itself(
    running_bot, question, language, entry_id
):
    app, fake = running_bot
    engine = engine_of(app)

    [reply] = await ask(fake, question, user_id=7021, language_code=language)

    assert visible(reply).startswith(title(engine, entry_id, language))
    assert fake.errors() == []


async def test_inline_mode_uses_the_same_policy_and_no_context(running_bot):
    """ "montevideo session" in inline mode opens the event, as in a chat; a follow-up
    typed inline has no topic to lean on (inline queries belong to no conversation)."""
    app, fake = running_bot
    engine = engine_of(app)

    query_id = fake.inline_query("montevideo session")
    [call] = await fake.wait_for(
        "answerInlineQuery", lambda c: c.params.get("inline_query_id") == query_id
    )
    assert call.params["results"][0]["id"] == "event" == engine.ask("montevideo session").entry_id

    await ask(fake, RCM, user_id=DEFAULT_USER_ID)
    query_id = fake.inline_query("when was it created?")
    [call] = await fake.wait_for(
        "answerInlineQuery", lambda c: c.params.get("inline_query_id") == query_id
    )
    # The same as the message with no topic: not the answer the chat would get.
    alone = engine.ask("when was it created?")
    assert not alone.matched
    ids = [result["id"] for result in call.params["results"]]
    assert ids == [suggestion.entry_id for suggestion in alone.suggestions]
    assert fake.errors() == []
