"""Conversations with the real bot over real HTTP, against the strict fake Bot API.

Every scenario runs the Application that `faqbot run` runs; nothing of ours is
mocked. What the bot should say is taken from its own engine (titles, texts,
labels), so these tests check the Telegram side: which messages, in which
language, with which buttons, accepted by Telegram's rules. Each test ends
with `fake.errors() == []`: no call that Telegram would have refused.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import yaml
from telegram.constants import MessageLimit

from handlers import callback_data
from knowledge.answer import Answer, Kind
from knowledge.engine import Engine
from knowledge.loader import bundled_path
from knowledge.schema import Contact
from tests.auxil.conversation import (
    ask,
    button,
    buttons,
    callback_answers,
    engine_of,
    keyboard,
    press,
    reply_to,
    running,
    sends,
    services_of,
    silence_then_reply,
    squash,
    visible,
    wait_until,
)
from tests.auxil.fake_bot_api import (
    BOT_USERNAME,
    DEFAULT_USER_ID,
    Call,
    FakeBotAPI,
    detect_entities,
)
from tests.auxil.telegram_html import utf16_len, validate_html

# Candidates for a "did you mean" round trip; the engine says which one is unsure.
UNSURE_CANDIDATES = (
    "whre is the meting",
    "wat forums",
    "wen is the sesion",
    "Wen is teh ECLAC sesion?",
    "whn is the sesion",
)
# Questions with typos, and the entry a person means by them.
TYPOS = (
    ("recomendatons", "recommendations"),
    ("who is the pres contac", "contact"),
    ("womens migrans", "rec-women-migrants"),
)
# Callback data a modified client could send, and the notice it must get.
FORGED_CALLBACK_DATA = (
    ("o|en|no-such-entry", "button_expired"),
    ("c|en|12|no-such-entry", "button_expired"),
    ("v|en|+|0|no-such-entry", "button_expired"),
    ("o|xx|event", "button_expired"),
    ("o|en|../../etc", "button_expired"),
    ("v|en|+|99999999999999|event", "button_expired"),
    ("garbage", "button_expired"),
    ("ñandú|💥|€", "button_expired"),
    ("r|add|0|contact", "admin_only"),  # an admin's review button, pressed by someone else
)
MALFORMED_DEEP_LINKS = ("../../etc", "x" * 70, "no-such-entry", "event extra")
CONTACT_QUESTIONS = (("who can I call for an interview?", "en"), ("¿teléfono de prensa?", "es"))
# List commands, and one item each must offer.
LISTS = (
    ("/recommendations", "rec-women-migrants"),
    ("/forums", "regional-conference-on-migration"),
)
# Texts that break naive HTML or Markdown rendering, and emoji.
HOSTILE_QUESTIONS = (
    "<b>women</b> migrants?",
    "R&D & migrants &amp; &lt; &#x26;",
    "*_[ forums ]_* `code` ~~x~~",
    "</a><a href='javascript:alert(1)'>contact</a>",
    "<script>alert(1)</script> when is the session?",
    "🙂🇺🇾 when is the session? 🎉👩‍👩‍👧",
)


def replies_expected(answer: Answer) -> int:
    """Messages an ordinary-length answer takes: the contact card comes before its text."""
    return 2 if answer.contact_card else 1


def title_of(engine: Engine, entry_id: str, language: str) -> str:
    opened = engine.open(entry_id, language)
    assert opened is not None and opened.title
    return opened.title


def item_buttons(call: Call) -> list[dict[str, Any]]:
    """The buttons that open an entry (topics, follow-ups, list items)."""
    return [b for b in buttons(call) if b.get("callback_data", "").startswith("o|")]


def opened_entry(button_: dict[str, Any]) -> str:
    payload = callback_data.decode(button_["callback_data"])
    assert isinstance(payload, callback_data.Open)
    return payload.entry_id


def vote_button(call: Call, up: bool) -> dict[str, Any]:
    return button(call, "👍" if up else "👎")


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


# --------------------------------------------------------------- greetings, languages


async def test_new_user_gets_greeting_with_topic_buttons_in_their_language(running_bot, engine):
    _, fake = running_bot
    for user_id, language in ((101, "en"), (102, "es")):
        [reply] = await ask(fake, "/start", user_id=user_id, language_code=language)

        greeting = engine.greeting(language)
        assert greeting.text.splitlines()[0] in visible(reply)
        assert engine.text("topics_intro", language) in visible(reply)
        assert [b["text"] for b in buttons(reply)] == [t.label for t in greeting.topics]
        assert [opened_entry(b) for b in buttons(reply)] == [t.entry_id for t in greeting.topics]
    assert fake.errors() == []


async def test_spanish_question_from_an_english_client_is_answered_in_spanish(running_bot, engine):
    _, fake = running_bot
    [reply] = await ask(fake, "¿Qué recomienda la CEPAL?", language_code="en")

    assert visible(reply).startswith(title_of(engine, "recommendations", "es"))
    assert engine.text("source_note", "es") in visible(reply)
    assert fake.errors() == []


async def test_questions_with_typos_get_the_right_entry(running_bot, engine):
    _, fake = running_bot
    for number, (question, entry_id) in enumerate(TYPOS):
        answer = engine.ask(question)
        assert answer.entry_id == entry_id, question

        replies = await ask(fake, question, replies_expected(answer), user_id=200 + number)

        assert visible(replies[-1]).startswith(title_of(engine, entry_id, "en")), question
    assert fake.errors() == []


# ------------------------------------------------------------------------ buttons


async def test_did_you_mean_choice_by_button_opens_that_entry_and_is_recorded(running_bot, engine):
    app, fake = running_bot
    unsure = [q for q in UNSURE_CANDIDATES if engine.ask(q).kind is Kind.DID_YOU_MEAN]
    assert unsure, f"none of {UNSURE_CANDIDATES} is a did-you-mean question any more"
    question = unsure[0]
    answer = engine.ask(question)

    [reply] = await ask(fake, question)
    assert engine.text("did_you_mean", "en") in visible(reply)
    assert [b["text"] for b in buttons(reply)] == [s.question for s in answer.suggestions]

    choice = buttons(reply)[0]
    payload = callback_data.decode(choice["callback_data"])
    assert isinstance(payload, callback_data.Choose)
    chosen = answer.suggestions[0].entry_id
    pressed = await press(fake, choice["callback_data"], reply.result, replies=1)

    assert pressed.notice is None
    assert visible(pressed.sent[-1]).startswith(title_of(engine, chosen, "en"))
    assert services_of(app).records.choices_for([payload.question_id]) == {
        payload.question_id: chosen
    }
    assert fake.errors() == []


async def test_follow_up_button_opens_the_related_entry(running_bot, engine):
    _, fake = running_bot
    [reply] = await ask(fake, "What does ECLAC recommend?")
    related = engine.open("recommendations", "en").related
    assert [b["text"] for b in item_buttons(reply)] == [link.label for link in related]

    follow_up = item_buttons(reply)[-1]
    pressed = await press(fake, follow_up["callback_data"], reply.result, replies=1)

    assert pressed.notice is None
    assert visible(pressed.sent[0]).startswith(title_of(engine, opened_entry(follow_up), "en"))
    assert fake.errors() == []


async def test_thumbs_up_then_down_are_acknowledged_and_the_last_one_counts(running_bot, engine):
    app, fake = running_bot
    [reply] = await ask(fake, "What does ECLAC recommend?")

    up = await press(fake, vote_button(reply, True)["callback_data"], reply.result)
    down = await press(fake, vote_button(reply, False)["callback_data"], reply.result)

    thanks = engine.text("feedback_thanks", "en")
    assert (up.notice, down.notice) == (thanks, thanks)
    # One person's vote on one answer counts once: the later press replaces the earlier.
    # (The vote is written just after the notice, which comes first for the reader.)
    storage = services_of(app).records
    expected = {"recommendations": (0, 1)}
    await wait_until(lambda: storage.feedback_since(0) == expected, "the 👎 recorded", fake)
    assert fake.errors() == []


async def test_every_callback_query_gets_exactly_one_answer(running_bot, engine):
    _, fake = running_bot
    # Three people, so that no private chat waits for its rate limit.
    topics, unsure_user, follow_up_user = 601, 602, 603
    [greeting] = await ask(fake, "/start", user_id=topics)
    topic_data = buttons(greeting)[0]["callback_data"]
    topic = await press(fake, topic_data, greeting.result, replies=1, user_id=topics)
    [opened] = topic.sent
    vote_data = vote_button(opened, True)["callback_data"]
    vote = await press(fake, vote_data, opened.result, user_id=topics)

    question = next(q for q in UNSURE_CANDIDATES if engine.ask(q).kind is Kind.DID_YOU_MEAN)
    [unsure] = await ask(fake, question, user_id=unsure_user)
    choice_data = buttons(unsure)[0]["callback_data"]
    choice = await press(fake, choice_data, unsure.result, replies=1, user_id=unsure_user)
    forged = await press(
        fake, "o|en|gone-entry", unsure.result, user_id=unsure_user, check_buttons=False
    )

    [answer] = await ask(fake, "What does ECLAC recommend?", user_id=follow_up_user)
    follow_up_data = item_buttons(answer)[0]["callback_data"]
    follow_up = await press(fake, follow_up_data, answer.result, replies=1, user_id=follow_up_user)

    # Each chat's updates are handled in order: once these are answered, all presses were.
    for user_id in (topics, unsure_user, follow_up_user):
        await ask(fake, "thanks", user_id=user_id)
    presses = [topic, vote, choice, forged, follow_up]
    assert [len(callback_answers(fake, p.query_id)) for p in presses] == [1] * len(presses)
    assert fake.errors() == []


async def test_forged_callback_data_gets_a_short_notice_and_no_error(running_bot, engine, caplog):
    app, fake = running_bot
    [greeting] = await ask(fake, "/start")
    since = len(fake.calls)

    for data, notice in FORGED_CALLBACK_DATA:
        pressed = await press(fake, data, greeting.result, check_buttons=False)
        assert pressed.notice == engine.text(notice, "en"), data
    [after] = await ask(fake, "hello")

    assert sends(fake, DEFAULT_USER_ID, since) == [after]
    assert services_of(app).records.feedback_since(0) == {}
    assert error_records(caplog) == []
    assert fake.errors() == []


# ------------------------------------------------------------------- press contact


def every_detail(contact: Contact, language: str) -> list[str]:
    """What the press release gives of its press contact, in one language."""
    return [
        contact.full_name,
        contact.title(language),
        contact.organisation(language),
        *contact.phones,
        contact.email,
        contact.website,
    ]


def assert_contact_card(engine: Engine, card: Call, text: Call, language: str) -> None:
    """A sendContact with every detail in its vCard, then the details as copyable HTML."""
    contact = engine.knowledge.contact
    assert card.method == "sendContact" and text.method == "sendMessage"
    assert card.params["phone_number"] == contact.phones[0]
    assert card.params["first_name"] == contact.first_name
    vcard = card.params["vcard"]
    for detail in every_detail(contact, language):
        assert detail in vcard
    html = text.params["text"]
    for detail in (*contact.phones, contact.email):
        assert f"<code>{detail}</code>" in html
    assert engine.text("contact_intro", language) in visible(text)


async def test_journalist_gets_contact_card_with_copyable_details(running_bot, engine):
    _, fake = running_bot
    for user_id, language in ((401, "en"), (402, "es")):
        card, text = await ask(fake, "/contact", 2, user_id=user_id, language_code=language)

        assert_contact_card(engine, card, text, language)
        assert visible(text).startswith(title_of(engine, "contact", language))
    assert fake.errors() == []


async def test_asking_for_the_press_contact_in_words_gives_the_same_card(running_bot, engine):
    _, fake = running_bot
    for number, (question, language) in enumerate(CONTACT_QUESTIONS):
        user_id = 500 + 2 * number
        command_card, _ = await ask(fake, "/contact", 2, user_id=user_id, language_code=language)
        card, text = await ask(fake, question, 2, user_id=user_id + 1, language_code="en")

        assert_contact_card(engine, card, text, language)
        assert card.params["vcard"] == command_card.params["vcard"], question
    assert fake.errors() == []


# When each interface shows the press contact: its answer, what the release does
# not say of it, the fallback; and an answer about something else, which does not.
CONTACT_SHOWN = (
    ("who is the press contact?", True),
    ("When can I call the press contact?", True),
    ("¿A qué hora puedo llamar al contacto de prensa?", True),
    ("xyzzy plugh frobnicate", True),
    ("networks of emigrant scientists", False),
)


def faqbot_ask(*args: str) -> str:
    """What `faqbot ask` prints (the terminal chat's rendering, or with --json the contract's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FAQBOT_CONFIG", "TELEGRAM_BOT_TOKEN")}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "ask", *args],
        cwd=Path(__file__).resolve().parent.parent,
        env={**env, "PYTHONUTF8": "1"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=True,
    )
    return run.stdout


def contact_shown(text: str, contact: Contact, language: str, intro: str) -> list[str]:
    """The contact's details a reply shows, in their order: the values found in the
    lines right after the contact intro that hold nothing but details (and their
    marks and punctuation); [] when the reply has no contact intro."""
    if intro not in text:
        return []
    # The longest first: "ECLAC" is also in the web address.
    details = sorted(set(every_detail(contact, language)), key=len, reverse=True)
    shown: list[str] = []
    for line in text.split(intro, 1)[1].lstrip("\n").splitlines():
        found: list[tuple[int, str]] = []
        rest = line
        for detail in details:
            while (at := rest.find(detail)) >= 0:
                found.append((at, detail))
                rest = rest[:at] + " " * len(detail) + rest[at + len(detail) :]
        if not found or any(char.isalpha() for char in rest):
            break  # a line of other words: the source note, a choice, the next paragraph
        shown += [detail for _, detail in sorted(found)]
    return shown


async def test_telegram_and_the_terminal_show_the_press_contact_for_the_same_questions(
    running_bot, engine
):
    """One decision and one list of details: a journalist who asks when the press
    contact is available gets the same details (name, title, organisation, phones,
    e-mail, web address, in the same order) in Telegram, in the terminal and in
    `faqbot ask --json` alike (the plain renderers once showed them only with the
    fallback, Telegram with any answer that carried them; then the plain text left
    out the web address)."""
    _, fake = running_bot
    contact = engine.knowledge.contact
    for number, (question, shown) in enumerate(CONTACT_SHOWN):
        expected = engine.ask(question)
        language = expected.language
        intro = engine.text("contact_intro", language)
        replies = await ask(fake, question, replies_expected(expected), user_id=700 + number)
        in_telegram = contact_shown("\n\n".join(map(visible, replies)), contact, language, intro)
        in_terminal = contact_shown(faqbot_ask(question), contact, language, intro)
        answer = json.loads(faqbot_ask("--json", question))["answer"]
        in_json = contact_shown(answer, contact, language, intro)
        assert in_telegram == in_terminal == in_json, question
        expected_details = every_detail(contact, language) if shown else []
        assert sorted(in_telegram) == sorted(expected_details), question
    assert fake.errors() == []


async def test_telegram_and_the_terminal_frame_an_answer_alike(running_bot, engine):
    """Under an answer from the release, the note that names it; above the follow-ups,
    their heading: in Telegram (buttons) and in the terminal (numbered choices) alike.
    (Telegram once showed no heading, the terminal no source note.)"""
    _, fake = running_bot
    for number, question in enumerate(("What does ECLAC recommend?", "¿Qué recomienda la CEPAL?")):
        language = engine.ask(question).language
        note, heading = engine.text("source_note", language), engine.text("related", language)
        [reply] = await ask(fake, question, user_id=750 + number)
        in_telegram = visible(reply).splitlines()
        in_terminal = faqbot_ask(question).rstrip().splitlines()
        for lines in (in_telegram, in_terminal):
            assert note in lines and heading in lines, question
            assert lines.index(note) < lines.index(heading), question
        assert in_telegram[-1] == heading, question  # right above the buttons
        offered = in_terminal[in_terminal.index(heading) + 1 :]
        labels = [button["text"] for button in item_buttons(reply)]
        assert offered == [f"  [{n}] {label}" for n, label in enumerate(labels, 1)], question
    assert fake.errors() == []


# ------------------------------------------------------------------ entry commands


async def test_list_items_are_buttons_with_entry_titles_that_open_them(running_bot, engine):
    _, fake = running_bot
    for offset, (command, must_list) in enumerate(LISTS):
        [listing] = await ask(fake, command, user_id=700 + offset)
        items = item_buttons(listing)
        titles = [title_of(engine, opened_entry(b), "en") for b in items]
        assert must_list in [opened_entry(b) for b in items]
        assert [b["text"] for b in items] == titles

        # One user per item: each private chat has its own rate limit.
        for number, item in enumerate(items):
            user_id = 800_000 + 100 * offset + number
            [own] = await ask(fake, command, user_id=user_id)
            expected = replies_expected(engine.open(opened_entry(item), "en"))
            pressed = await press(
                fake, item["callback_data"], own.result, replies=expected, user_id=user_id
            )
            assert visible(pressed.sent[-1]).startswith(item["text"]), item
    assert fake.errors() == []


async def test_entry_commands_open_their_entry(running_bot, engine):
    _, fake = running_bot
    for user_id, entry_id in ((901, "event"), (902, "document")):
        [reply] = await ask(fake, f"/{entry_id}", user_id=user_id)

        title = title_of(engine, entry_id, "en")
        assert visible(reply).startswith(title)
        assert reply.params["text"].startswith(f"<b>{title}</b>")
    assert fake.errors() == []


async def test_language_choice_is_used_and_survives_a_restart(fake, make_config, tmp_path):
    config = make_config(tmp_path, fake)
    async with running(config, fake) as app:
        engine = engine_of(app)
        [done] = await ask(fake, "/language es")
        assert visible(done) == engine.text("language_set", "es")
        [answer] = await ask(fake, "What does ECLAC recommend?")
        assert visible(answer).startswith(title_of(engine, "recommendations", "es"))

    async with running(config, fake) as app:
        [answer] = await ask(fake, "What does ECLAC recommend?")
        assert visible(answer).startswith(title_of(engine_of(app), "recommendations", "es"))
    assert fake.errors() == []


# ------------------------------------------------------------- deep links, sharing


async def test_deep_link_opens_the_shared_answer(running_bot, engine):
    _, fake = running_bot
    [reply] = await ask(fake, "/start rec-women-migrants")

    assert visible(reply).startswith(title_of(engine, "rec-women-migrants", "en"))
    assert fake.errors() == []


async def test_malformed_deep_link_falls_back_to_the_greeting(running_bot, engine):
    _, fake = running_bot
    for number, payload in enumerate(MALFORMED_DEEP_LINKS):
        [reply] = await ask(fake, f"/start {payload}", user_id=1000 + number)

        assert engine.text("greeting", "en").splitlines()[0] in visible(reply), payload
    assert fake.errors() == []


async def test_every_answer_has_a_share_button_with_its_deep_link(running_bot, engine):
    _, fake = running_bot
    share = engine.text("share", "en")
    for number, entry in enumerate(engine.knowledge.entries):
        expected = replies_expected(engine.open(entry.id, "en"))
        replies = await ask(fake, f"/start {entry.id}", expected, user_id=900_000 + number)

        link = f"https://t.me/{BOT_USERNAME}?start={entry.id}"
        url = button(replies[-1], share)["url"]
        assert quote(link, safe="") in url
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", "/share/url")
        assert parse_qs(parts.query)["url"] == [link]
    assert fake.errors() == []


# ---------------------------------------------------------------------- inline mode


async def test_inline_query_offers_the_best_answer_first_as_valid_html(running_bot, engine):
    _, fake = running_bot
    question = "recomendatons"
    query_id = fake.inline_query(question)

    [call] = await fake.wait_for(
        "answerInlineQuery", lambda c: c.params.get("inline_query_id") == query_id
    )

    results = call.params["results"]
    assert results[0]["id"] == engine.ask(question).entry_id
    assert results[0]["title"] == title_of(engine, results[0]["id"], "en")
    for result in results:
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML"
        assert validate_html(content["message_text"])
    assert fake.errors() == []


async def test_empty_inline_query_offers_the_topics(running_bot, engine):
    _, fake = running_bot
    query_id = fake.inline_query("")

    [call] = await fake.wait_for(
        "answerInlineQuery", lambda c: c.params.get("inline_query_id") == query_id
    )

    topics = [topic.entry for topic in engine.knowledge.topics]
    assert [result["id"] for result in call.params["results"]] == topics
    assert fake.errors() == []


def inline_answer(fake: FakeBotAPI, query_id: str) -> Any:
    return fake.wait_for("answerInlineQuery", lambda c: c.params.get("inline_query_id") == query_id)


async def test_inline_results_are_personal_since_they_follow_the_readers_language(
    running_bot, engine
):
    """Telegram must not hand one reader's Spanish results to another who typed the same."""
    _, fake = running_bot
    for user_id, language in ((1401, "en"), (1402, "es")):
        [call] = await inline_answer(fake, fake.inline_query("", user_id, language_code=language))

        assert call.params["is_personal"] is True
        first = call.params["results"][0]
        assert first["title"] == title_of(engine, first["id"], language)
    assert fake.errors() == []


async def test_a_reader_who_chose_spanish_gets_spanish_inline_results_as_in_the_chat(
    running_bot, engine
):
    """One language policy for chats and inline mode: the saved choice first, then the
    message's own language, then the app's."""
    _, fake = running_bot
    user_id = 1403
    await ask(fake, "/language es", user_id=user_id, language_code="en")
    [chat] = await ask(fake, "What does ECLAC recommend?", user_id=user_id, language_code="en")
    query = fake.inline_query("What does ECLAC recommend?", user_id, language_code="en")
    [call] = await inline_answer(fake, query)

    assert visible(chat).startswith(title_of(engine, "recommendations", "es"))
    assert call.params["results"][0]["title"] == title_of(engine, "recommendations", "es")
    assert fake.errors() == []


async def test_inline_query_that_matches_nothing_offers_a_button_to_ask_in_private(
    running_bot, engine
):
    _, fake = running_bot
    question = "zzzz qqqq"
    assert engine.ask(question).kind is Kind.FALLBACK

    [call] = await inline_answer(fake, fake.inline_query(question))

    assert call.params["results"] == []
    assert call.params["is_personal"] is True
    assert call.params["button"] == {
        "text": engine.text("inline_hint", "en"),
        "start_parameter": "help",
    }
    assert fake.errors() == []


async def test_the_inline_hint_buttons_start_link_opens_the_help(running_bot, engine):
    _, fake = running_bot
    [reply] = await ask(fake, "/start help")

    assert engine.text("help", "en").splitlines()[0] in visible(reply)
    assert engine.text("greeting", "en").splitlines()[0] not in visible(reply)
    assert fake.errors() == []


# ------------------------------------------------------------------------- groups


async def test_in_a_group_only_messages_for_the_bot_are_answered(running_bot, engine):
    _, fake = running_bot
    plain = fake.message("When is the ECLAC session?", chat_type="group")
    mention = fake.message(f"@{BOT_USERNAME} when is the ECLAC session?", chat_type="group")

    [reply] = await silence_then_reply(fake, [plain], mention)
    assert visible(reply).startswith(title_of(engine, "event", "en"))
    assert reply.params["reply_parameters"]["message_id"] == mention["message"]["message_id"]

    [reply] = await ask(fake, "What does ECLAC recommend?", chat_type="group", reply_to_bot=True)
    assert visible(reply).startswith(title_of(engine, "recommendations", "en"))

    [reply] = await ask(fake, f"/help@{BOT_USERNAME}", chat_type="group")
    assert engine.text("help", "en").splitlines()[0] in visible(reply)
    assert fake.errors() == []


async def test_stickers_photos_and_voice_get_a_hint_in_private(running_bot, engine):
    _, fake = running_bot
    for user_id, language in ((1101, "en"), (1102, "es")):
        hint = engine.text("non_text", language)
        for send in (fake.sticker, fake.photo, fake.voice):
            update = send(user_id=user_id, language_code=language)
            [reply] = await reply_to(fake, update)
            assert visible(reply) == hint
    assert fake.errors() == []


async def test_stickers_photos_and_voice_get_silence_in_groups(running_bot):
    _, fake = running_bot
    silent = [
        fake.sticker(chat_type="group"),
        fake.photo("a caption", chat_type="group"),
        fake.voice(chat_type="group"),
    ]
    sentinel = fake.message(f"@{BOT_USERNAME} hello", chat_type="group")

    await silence_then_reply(fake, silent, sentinel)
    assert fake.errors() == []


# ----------------------------------------------------------------- hostile input


async def test_markup_characters_and_emoji_are_answered_with_valid_html(running_bot, engine):
    _, fake = running_bot
    pending = [
        (question, fake.message(question, user_id=300_000 + number))
        for number, question in enumerate(HOSTILE_QUESTIONS)
    ]
    for question, update in pending:
        replies = await reply_to(fake, update, replies_expected(engine.ask(question)))
        for reply in replies:
            if reply.method == "sendMessage":
                assert validate_html(reply.params["text"]), question
    assert fake.errors() == []


async def test_a_4000_character_message_is_answered(running_bot):
    _, fake = running_bot
    text = ("Where and when is the thirty-first session of ECLAC held? " * 80)[:4000]

    replies = await ask(fake, text)

    assert visible(replies[0])
    assert fake.errors() == []


def long_knowledge_base(tmp_path: Path, entry_id: str, size: int = 9000) -> Path:
    """A copy of the bundled knowledge base where one entry's answer is `size`+ characters."""
    data = yaml.safe_load(bundled_path().read_text(encoding="utf-8"))
    [entry] = [e for e in data["entries"] if e["id"] == entry_id]
    for language, text in entry["answer"].items():
        paragraph = text.strip()
        entry["answer"][language] = "\n\n".join([paragraph] * (size // len(paragraph) + 1))
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def test_an_answer_longer_than_one_message_is_split(fake, make_config, tmp_path):
    path = long_knowledge_base(tmp_path, "rec-women-migrants")
    config = make_config(tmp_path, fake, knowledge={"path": str(path)})
    async with running(config, fake) as app:
        engine = engine_of(app)
        answer = engine.open("rec-women-migrants", "en")
        assert len(answer.text) > 9000
        update = fake.message("/start rec-women-migrants")

        def all_parts() -> list[Call] | None:
            parts = sends(fake, DEFAULT_USER_ID)
            return parts if parts and keyboard(parts[-1]) else None

        await reply_to(fake, update)
        parts = await wait_until(all_parts, "the part with the buttons", fake)

    assert len(parts) >= 3
    assert all(keyboard(part) == [] for part in parts[:-1])
    assert visible(parts[0]).startswith(answer.title)
    assert squash(answer.text) in squash(" ".join(visible(part) for part in parts))
    assert fake.errors() == []


# ------------------------------------------------- edits and texts sent through the bot


async def test_editing_a_message_into_a_command_gets_no_reply(running_bot):
    """Commands answer new messages only: an edit must not run /contact (or /reload) again."""
    _, fake = running_bot
    user_id = 1201
    question = fake.message("hello", user_id=user_id)
    await reply_to(fake, question)
    since = len(fake.calls)
    edited = {
        **question["message"],
        "text": "/contact",
        "entities": detect_entities("/contact"),
        "edit_date": int(time.time()),
    }

    fake.push_update({"edited_message": edited})
    await reply_to(fake, fake.message("hello again", user_id=user_id))

    # One chat's updates are handled in order: the edit was handled before "hello again",
    # and the one message sent since is the reply to that (no contact card, no text).
    assert [c.method for c in sends(fake, user_id, since)] == ["sendMessage"]
    assert fake.errors() == []


async def test_an_answer_put_into_the_bots_chat_by_inline_mode_gets_no_reply(running_bot, engine):
    """Picking one of the bot's inline results in its own chat sends a message `via_bot`."""
    _, fake = running_bot
    user_id = 1301
    greeting = fake.message("hello", user_id=user_id)
    [greeted] = await reply_to(fake, greeting)
    answer = engine.open("recommendations", "en")
    assert answer is not None and answer.title
    via_bot = fake.push_update(
        {
            "message": {
                "message_id": greeted.result["message_id"] + 1,
                "from": greeting["message"]["from"],
                "chat": greeting["message"]["chat"],
                "date": int(time.time()),
                "text": f"{answer.title}\n\n{answer.text}",
                "via_bot": fake.bot_user,
            }
        }
    )
    sentinel = fake.message("What does ECLAC recommend?", user_id=user_id)

    [reply] = await silence_then_reply(fake, [via_bot], sentinel)

    assert visible(reply).startswith(answer.title)
    assert fake.errors() == []


# ---------------------------------------------------- the bot's own texts, escaped

# Knowledge base text that is not HTML: Telegram would refuse it unescaped.
NOT_HTML = "<en|es> & more"


def knowledge_with_texts(tmp_path: Path, texts: dict[str, dict[str, str]]) -> Path:
    """A copy of the bundled knowledge base with some of the bot's own texts replaced."""
    data = yaml.safe_load(bundled_path().read_text(encoding="utf-8"))
    data["texts"].update(texts)
    path = tmp_path / "texts.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def test_the_bots_own_texts_with_markup_characters_reach_the_reader_as_written(
    fake, make_config, tmp_path
):
    path = knowledge_with_texts(
        tmp_path,
        {
            "language_usage": {
                "en": f"Type /language {NOT_HTML}",
                "es": f"Escribe /language {NOT_HTML}",
            },
            "non_text": {"en": f"Text only: {NOT_HTML}", "es": f"Solo texto: {NOT_HTML}"},
        },
    )
    config = make_config(tmp_path, fake, knowledge={"path": str(path)})
    async with running(config, fake):
        [usage] = await ask(fake, "/language xx")
        [hint] = await reply_to(fake, fake.sticker())

    assert visible(usage) == f"Type /language {NOT_HTML}"
    assert visible(hint) == f"Text only: {NOT_HTML}"
    assert fake.errors() == []


# ------------------------------------------------ answers near Telegram's length limit


def knowledge_with_answer(tmp_path: Path, entry_id: str, language: str, size: int) -> Path:
    """A copy of the bundled knowledge base where one entry's answer in one language is
    exactly `size` characters: its own paragraph, repeated, cut at a word."""
    data = yaml.safe_load(bundled_path().read_text(encoding="utf-8"))
    [entry] = [e for e in data["entries"] if e["id"] == entry_id]
    paragraph = entry["answer"][language].strip()
    text = "\n\n".join([paragraph] * (size // len(paragraph) + 2))[:size]
    text = text[: text.rfind(" ")].rstrip()  # whole words: no number cut short
    entry["answer"][language] = text + "." * (size - len(text))
    path = tmp_path / f"{entry_id}-{size}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("size", [3790, 4090])
async def test_a_spanish_contact_answer_near_the_limit_reaches_the_journalist_whole(
    fake, make_config, tmp_path, size
):
    """The Spanish contact footer alone is about 300 characters: composed with a long
    answer, the message must be split where Telegram's limit says, not before composing."""
    path = knowledge_with_answer(tmp_path, "contact", "es", size)
    config = make_config(tmp_path, fake, knowledge={"path": str(path)})
    user_id = 1501
    async with running(config, fake) as app:
        engine = engine_of(app)
        answer = engine.open("contact", "es")
        assert answer is not None and len(answer.text) == size

        update = fake.message("/contact", user_id=user_id, language_code="es")

        def all_parts() -> list[Call] | None:
            parts = sends(fake, user_id)
            return parts if parts and keyboard(parts[-1]) else None

        await reply_to(fake, update)
        card, *parts = await wait_until(all_parts, "the part with the buttons", fake)

    assert fake.errors() == [], "Telegram refused a part"
    assert card.method == "sendContact" and len(parts) >= 2
    assert all(utf16_len(visible(part)) <= MessageLimit.MAX_TEXT_LENGTH for part in parts)
    assert all(keyboard(part) == [] for part in parts[:-1])
    shown = " ".join(visible(part) for part in parts)
    assert visible(parts[0]).startswith(answer.title)
    assert squash(answer.text) in squash(shown)
    assert engine.text("contact_intro", "es") in shown
    assert f"<code>{engine.knowledge.contact.email}</code>" in parts[-1].params["text"]
    assert engine.text("source_note", "es") in visible(parts[-1])
    # The follow-up buttons' heading, right above them.
    assert visible(parts[-1]).endswith(engine.text("related", "es"))


async def test_inline_mode_carries_an_answer_that_fits_one_message_whole(
    fake, make_config, tmp_path
):
    """Split for a chat, the answer fits one message all the same: the inline result
    that a reader sends into a group must carry it all, footer included."""
    path = knowledge_with_answer(tmp_path, "event", "en", 3900)
    config = make_config(tmp_path, fake, knowledge={"path": str(path)})
    async with running(config, fake) as app:
        engine = engine_of(app)
        answer = engine.open("event", "en")
        [call] = await inline_answer(fake, fake.inline_query(""))

    [result] = [r for r in call.params["results"] if r["id"] == "event"]
    shown = validate_html(result["input_message_content"]["message_text"])
    assert shown.startswith(answer.title)
    assert squash(answer.text) in squash(shown)
    assert shown.endswith(engine.text("source_note", "en"))
    assert fake.errors() == []


async def test_inline_mode_keeps_the_contact_and_source_of_an_answer_too_long_for_one_message(
    fake, make_config, tmp_path
):
    path = knowledge_with_answer(tmp_path, "contact", "es", 9000)
    config = make_config(tmp_path, fake, knowledge={"path": str(path)})
    async with running(config, fake) as app:
        engine = engine_of(app)
        answer = engine.open("contact", "es")
        [call] = await inline_answer(fake, fake.inline_query("", 1502, language_code="es"))

    [result] = [r for r in call.params["results"] if r["id"] == "contact"]
    html = result["input_message_content"]["message_text"]
    shown = validate_html(html)
    assert utf16_len(shown) <= MessageLimit.MAX_TEXT_LENGTH
    assert shown.startswith(answer.title)
    assert squash(answer.text[:3000]) in squash(shown), "as much of the answer as fits"
    # The "…" opens the whole answer in a private chat with the bot.
    assert f'<a href="https://t.me/{BOT_USERNAME}?start=contact">…</a>' in html
    assert engine.text("contact_intro", "es") in shown
    for detail in (*engine.knowledge.contact.phones, engine.knowledge.contact.email):
        assert f"<code>{detail}</code>" in html
    assert shown.endswith(engine.text("source_note", "es"))
    assert fake.errors() == []
