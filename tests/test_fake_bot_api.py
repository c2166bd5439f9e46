"""Tests of the fake Bot API server itself: it must be as strict as Telegram.

Every test talks to the fake through a real ``telegram.Bot`` over HTTP, so
these also show that python-telegram-bot serialises its requests in a way the
fake reads, and deserialises the fake's answers.  If the fake let through what
Telegram refuses, the bot's own tests would pass against it and fail in
production; these tests pin that strictness down.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.auxil.fake_bot_api import (
    DEFAULT_GROUP_ID,
    DEFAULT_SUPERGROUP_ID,
    DEFAULT_USER_ID,
    FakeBotAPI,
)
from tests.auxil.telegram_html import HTMLParseError, parse_html, utf16_len, validate_html

OTHER_USER_ID = 555_000_111

pytestmark = [
    # do_api_request is used on purpose, to send what PTB's typed methods would refuse.
    pytest.mark.filterwarnings("ignore:Please use 'Bot.:telegram.warnings.PTBUserWarning"),
    pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"),
]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url) as client:
        yield client


@pytest.fixture
def chat_id(api: FakeBotAPI) -> int:
    """A private chat the bot knows because the user wrote to it."""
    return int(api.message("/start")["message"]["chat"]["id"])


async def refusal(api: FakeBotAPI, request: Awaitable[Any], error: type[TelegramError]) -> str:
    """Await a request that must fail; return the description the fake sent."""
    with pytest.raises(error):
        await request
    return str(api.calls[-1].error)


def keyboard(**button: Any) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Press", **button)]])


# --------------------------------------------------------------------- basics


async def test_get_me_describes_the_bot(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "faq_test_bot"
    assert me.id == api.bot_id
    assert me.supports_inline_queries and me.can_join_groups
    assert api.base_url == f"http://127.0.0.1:{api.port}/bot"


async def test_other_tokens_are_unauthorized(api: FakeBotAPI) -> None:
    stranger = Bot("123:wrong", base_url=api.base_url)
    try:
        description = await refusal(api, stranger.initialize(), InvalidToken)
    finally:
        await stranger.shutdown()
    assert description == "Unauthorized"
    assert api.calls[-1].status == 401


async def test_unknown_methods_are_not_found_and_names_ignore_case(
    api: FakeBotAPI, chat_id: int
) -> None:
    async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}/") as client:
        missing = await client.post("sendTelepathy", data={"chat_id": chat_id})
        shouted = await client.post("SENDMESSAGE", data={"chat_id": chat_id, "text": "hi"})
        as_json = await client.post(
            "sendMessage",
            json={"chat_id": chat_id, "text": "hi", "reply_markup": {"inline_keyboard": []}},
        )
        multipart = await client.post(
            "sendMessage",
            data={"chat_id": str(chat_id), "text": "with a file"},
            files={"thumbnail": ("t.jpg", b"\xff\xd8", "image/jpeg")},
        )
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert shouted.json()["ok"] and shouted.json()["result"]["text"] == "hi"
    assert as_json.json()["ok"]
    assert multipart.json()["result"]["text"] == "with a file"
    assert api.calls[-1].params["thumbnail"] == {
        "filename": "t.jpg",
        "size": 2,
        "content_type": "image/jpeg",
    }
    assert [call.method for call in api.calls_to("sendmessage")] == ["sendMessage"] * 3


# ----------------------------------------------------------------------- HTML


async def test_valid_html_is_accepted_and_answered_as_visible_text(
    api: FakeBotAPI, bot: Bot, chat_id: int
) -> None:
    text = (
        '<b>Bold</b> <i>it</i> <a href="https://www.cepal.org/en?a=1&amp;b=2">link</a> '
        '<span class="tg-spoiler">s</span> <code>x &lt; y</code>\n'
        '<pre><code class="language-python">print(1)</code></pre>'
        "<blockquote expandable>quote</blockquote>"
    )
    message = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    assert message.text == "Bold it link s x < y\nprint(1)quote"
    kinds = [(entity.type, entity.offset, entity.length) for entity in message.entities]
    assert ("bold", 0, 4) in kinds and ("text_link", 8, 4) in kinds
    assert message.entities[2].url == "https://www.cepal.org/en?a=1&b=2"
    assert ("pre", 21, 8) in kinds and ("expandable_blockquote", 29, 5) in kinds
    assert api.errors() == []


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("<p>hi</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<b>hi", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>hi</i>", 'Unmatched end tag at byte offset 5, expected "</b>", found "</i>"'),
        ("hi</b>", "Unexpected end tag at byte offset 2"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("ñ<br>", 'Unsupported start tag "br" at byte offset 2'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b class>x</b>", 'Expected equal sign in declaration of an attribute of the tag "b"'),
        ('<tg-emoji emoji-id="x">🙂</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
async def test_html_telegram_cannot_parse_is_refused(
    api: FakeBotAPI, bot: Bot, chat_id: int, html: str, description: str
) -> None:
    sent = bot.send_message(chat_id, html, parse_mode=ParseMode.HTML)
    error = await refusal(api, sent, BadRequest)
    assert error.startswith(f"Bad Request: can't parse entities: {description}")
    assert api.errors()[-1].error == error


@pytest.mark.parametrize(
    "html",
    [
        "Q&A",
        "&nbsp;",
        "&amp without semicolon",
        '<a href="https://x.org/?a=1&b=2">x</a>',
        "<a>x</a>",
    ],
)
async def test_the_fake_is_stricter_than_telegram_about_ampersands_and_links(
    api: FakeBotAPI, bot: Bot, chat_id: int, html: str
) -> None:
    """Telegram keeps a stray "&" literally, but it always means unescaped text."""
    error = await refusal(api, bot.send_message(chat_id, html, parse_mode="HTML"), BadRequest)
    assert error.startswith("Bad Request: can't parse entities: ")


async def test_strict_html_can_be_relaxed_to_telegrams_own_rules() -> None:
    async with (
        FakeBotAPI(strict_html=False) as lenient,
        Bot(lenient.token, base_url=lenient.base_url) as bot,
    ):
        chat = lenient.message("hi")["message"]["chat"]["id"]
        message = await bot.send_message(chat, "Q&A &amp <a>x</a>", parse_mode="HTML")
        assert message.text == "Q&A & x"
        await refusal(lenient, bot.send_message(chat, "<p>", parse_mode="HTML"), BadRequest)


async def test_plain_text_may_contain_anything(bot: Bot, chat_id: int) -> None:
    message = await bot.send_message(chat_id, "1 < 2 & <b>not bold</b>")
    assert message.text == "1 < 2 & <b>not bold</b>" and not message.entities


def test_validate_html_reports_byte_offsets_like_telegram() -> None:
    assert validate_html("<b>Año</b> &lt;3 &#127881;") == "Año <3 🎉"
    with pytest.raises(HTMLParseError, match='tag "x" at byte offset 6'):
        validate_html("añoñ<x>")
    assert utf16_len("a🎉") == 3
    assert parse_html("🎉<b>x</b>").entities == ({"type": "bold", "offset": 2, "length": 1},)


# ---------------------------------------------------------------- text length


@pytest.mark.parametrize("text", ["", " \n ", "<b> </b>"])
async def test_empty_text_is_refused(api: FakeBotAPI, bot: Bot, chat_id: int, text: str) -> None:
    error = await refusal(api, bot.send_message(chat_id, text, parse_mode="HTML"), BadRequest)
    assert error in ("Bad Request: message text is empty", "Bad Request: message must be non-empty")


async def test_4097_characters_are_too_long(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    error = await refusal(api, bot.send_message(chat_id, "x" * 4097), BadRequest)
    assert error == "Bad Request: message is too long"


async def test_the_limit_counts_visible_characters_after_entities(
    api: FakeBotAPI, bot: Bot, chat_id: int
) -> None:
    visible = "&amp;" * 4000 + "<b>" + "y" * 96 + "</b>"
    message = await bot.send_message(chat_id, visible, parse_mode="HTML")
    assert len(message.text) == 4096
    error = await refusal(
        api, bot.send_message(chat_id, visible + "z", parse_mode="HTML"), BadRequest
    )
    assert error == "Bad Request: message is too long"


async def test_the_limit_counts_utf16_code_units(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    await bot.send_message(chat_id, "🎉" * 2048)
    await refusal(api, bot.send_message(chat_id, "🎉" * 2049), BadRequest)


# -------------------------------------------------------------- reply markup


async def test_callback_data_is_limited_to_64_bytes(
    api: FakeBotAPI, bot: Bot, chat_id: int
) -> None:
    message = await bot.send_message(chat_id, "ok", reply_markup=keyboard(callback_data="a" * 64))
    assert message.reply_markup == keyboard(callback_data="a" * 64)
    too_long = bot.send_message(chat_id, "no", reply_markup=keyboard(callback_data="a" * 65))
    assert await refusal(api, too_long, BadRequest) == "Bad Request: BUTTON_DATA_INVALID"
    accented = bot.send_message(chat_id, "no", reply_markup=keyboard(callback_data="é" * 33))
    assert await refusal(api, accented, BadRequest) == "Bad Request: BUTTON_DATA_INVALID"


@pytest.mark.parametrize(
    ("button", "description"),
    [
        ({"url": "javascript:alert(1)"}, "Bad Request: BUTTON_URL_INVALID"),
        ({"url": "www.cepal.org"}, "Bad Request: BUTTON_URL_INVALID"),
        (
            {},
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
        ),
    ],
)
async def test_buttons_need_exactly_one_valid_action(
    api: FakeBotAPI, bot: Bot, chat_id: int, button: dict[str, str], description: str
) -> None:
    sent = bot.send_message(chat_id, "x", reply_markup=keyboard(**button))
    assert await refusal(api, sent, BadRequest) == description


async def test_raw_markup_mistakes_are_refused(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    two_actions = {"inline_keyboard": [[{"text": "x", "url": "https://a.b", "callback_data": "c"}]]}
    no_text = {"inline_keyboard": [[{"text": " ", "callback_data": "c"}]]}
    too_many = {"inline_keyboard": [[{"text": "b", "callback_data": str(i)}] for i in range(101)]}
    for markup in (two_actions, no_text, too_many):
        await refusal(
            api,
            bot.do_api_request(
                "sendMessage", {"chat_id": chat_id, "text": "x", "reply_markup": markup}
            ),
            BadRequest,
        )
    assert len(api.errors()) == 3


# --------------------------------------------------------------- chats, users


async def test_unknown_chats_are_not_found(api: FakeBotAPI, bot: Bot) -> None:
    error = await refusal(api, bot.send_message(424242, "hi"), BadRequest)
    assert error == "Bad Request: chat not found"


async def test_a_user_seen_only_in_a_group_cannot_be_messaged_first(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.message("hola", user_id=OTHER_USER_ID, chat_type="group")
    group_message = await bot.send_message(DEFAULT_GROUP_ID, "hola grupo")
    assert group_message.chat.type == "group"
    error = await refusal(api, bot.send_message(OTHER_USER_ID, "hi"), Forbidden)
    assert error == "Forbidden: bot can't initiate conversation with a user"


def test_update_helpers_build_realistic_updates(api: FakeBotAPI) -> None:
    update = Update.de_json(api.message("/help@faq_test_bot más", chat_type="supergroup"), None)
    assert update.message.chat.id == DEFAULT_SUPERGROUP_ID
    assert update.message.parse_entities() == {update.message.entities[0]: "/help@faq_test_bot"}
    mention = Update.de_json(api.message("hey @faq_test_bot"), None).message.entities[0]
    assert (mention.type, mention.offset, mention.length) == ("mention", 4, 13)
    assert Update.de_json(api.sticker(), None).message.sticker.emoji == "👍"
    assert Update.de_json(api.photo(caption="gráfico"), None).message.photo[-1].width == 800
    voice = api.voice(duration=4)
    assert Update.de_json(voice, None).message.voice.file_id == voice["message"]["voice"]["file_id"]
    ids = [call["update_id"] for call in (api.message("a"), api.message("b"))]
    assert ids[1] == ids[0] + 1
    with pytest.raises(ValueError, match="nothing in chat"):
        api.message("reply", reply_to_bot=True, user_id=OTHER_USER_ID)
    reused = api.message("x")
    with pytest.raises(ValueError, match="already used"):
        api.push_update({"message": reused["message"]})


async def test_reply_to_bot_quotes_the_bots_last_message(bot: Bot, api: FakeBotAPI) -> None:
    api.message("/start", chat_type="group")
    sent = await bot.send_message(DEFAULT_GROUP_ID, "pregunta")
    reply = Update.de_json(api.message("respuesta", chat_type="group", reply_to_bot=True), bot)
    assert reply.message.reply_to_message.message_id == sent.message_id
    assert reply.message.message_id == sent.message_id + 1


async def test_send_contact_and_chat_action(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    contact = await bot.send_contact(chat_id, phone_number="+56 2 2210 2000", first_name="CEPAL")
    assert contact.contact.first_name == "CEPAL"
    no_phone = bot.do_api_request("sendContact", {"chat_id": chat_id, "first_name": "X"})
    assert await refusal(api, no_phone, BadRequest) == (
        'Bad Request: parameter "phone_number" is required'
    )
    too_big = bot.send_contact(chat_id, phone_number="1", first_name="X", vcard="v" * 2049)
    await refusal(api, too_big, BadRequest)
    assert await bot.send_chat_action(chat_id, "typing")
    bad_action = bot.send_chat_action(chat_id, "dancing")
    assert await refusal(api, bad_action, BadRequest) == (
        "Bad Request: wrong parameter action in request"
    )
    assert [m["contact"]["first_name"] for m in api.bot_messages(chat_id)] == ["CEPAL"]


# ---------------------------------------------------------------- callbacks


async def test_callback_queries_are_answered_once(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    sent = await bot.send_message(chat_id, "menu", reply_markup=keyboard(callback_data="more"))
    query_id = api.callback("more", sent.to_dict())
    early = bot.answer_callback_query(query_id)
    assert await refusal(api, early, BadRequest) == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    [update] = [u for u in await bot.get_updates() if u.callback_query]
    assert update.callback_query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query_id, text="ok")
    await refusal(api, bot.answer_callback_query(query_id), BadRequest)
    await refusal(api, bot.answer_callback_query("123"), BadRequest)
    with pytest.raises(ValueError, match="no button"):
        api.callback("forged", sent.to_dict())


async def test_callback_answers_are_limited_to_200_characters(
    api: FakeBotAPI, bot: Bot, chat_id: int
) -> None:
    await bot.send_message(chat_id, "menu", reply_markup=keyboard(callback_data="a"))
    first, second = api.callback("a"), api.callback("a")
    await bot.get_updates()
    assert await bot.answer_callback_query(first, text="x" * 200)
    too_long = bot.answer_callback_query(second, text="x" * 201)
    assert await refusal(api, too_long, BadRequest) == "Bad Request: MESSAGE_TOO_LONG"


# ------------------------------------------------------------ inline queries


def article(result_id: str, text: str = "<b>PIB</b>") -> InlineQueryResultArticle:
    content = InputTextMessageContent(text, parse_mode=ParseMode.HTML)
    return InlineQueryResultArticle(result_id, "PIB 2024", content)


async def test_inline_answers_are_validated(api: FakeBotAPI, bot: Bot) -> None:
    queries = [api.inline_query("pib") for _ in range(5)]
    await bot.get_updates()
    assert await bot.answer_inline_query(queries[0], [article("1"), article("2")])
    await refusal(api, bot.answer_inline_query(queries[0], [article("1")]), BadRequest)
    cases = [
        ([article(str(i)) for i in range(51)], "Bad Request: RESULTS_TOO_MUCH"),
        ([article("1"), article("1")], "Bad Request: RESULT_ID_DUPLICATE"),
        ([article("x" * 65)], "Bad Request: RESULT_ID_INVALID"),
    ]
    for query_id, (results, description) in zip(queries[1:], cases, strict=False):
        sent = bot.answer_inline_query(query_id, results)
        assert await refusal(api, sent, BadRequest) == description
    bad_html = bot.answer_inline_query(queries[4], [article("1", "<b>unclosed")])
    assert "can't parse entities" in await refusal(api, bad_html, BadRequest)


# ------------------------------------------------------------------- editing


async def test_edits_must_change_something(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    sent = await bot.send_message(
        chat_id, "<b>v1</b>", "HTML", reply_markup=keyboard(url="https://a.b")
    )
    same = bot.edit_message_text(
        "<b>v1</b>", chat_id, sent.message_id, parse_mode="HTML", reply_markup=sent.reply_markup
    )
    assert (await refusal(api, same, BadRequest)).startswith(
        "Bad Request: message is not modified: "
    )
    # Leaving reply_markup out removes the keyboard, which is a change.
    edited = await bot.edit_message_text("<b>v1</b>", chat_id, sent.message_id, parse_mode="HTML")
    assert edited.reply_markup is None and edited.edit_date is not None
    assert api.bot_messages(chat_id)[-1]["text"] == "v1"
    restored = await bot.edit_message_reply_markup(
        chat_id, sent.message_id, reply_markup=keyboard(url="https://a.b")
    )
    assert restored.reply_markup == keyboard(url="https://a.b")


async def test_only_existing_bot_messages_can_be_edited_or_deleted(
    api: FakeBotAPI, bot: Bot, chat_id: int
) -> None:
    user_message_id = 1
    missing = bot.edit_message_text("x", chat_id, 999)
    assert await refusal(api, missing, BadRequest) == "Bad Request: message to edit not found"
    theirs = bot.edit_message_text("x", chat_id, user_message_id)
    assert await refusal(api, theirs, BadRequest) == "Bad Request: message can't be edited"
    sent = await bot.send_message(chat_id, "bye")
    assert await bot.delete_message(chat_id, sent.message_id)
    again = bot.delete_message(chat_id, sent.message_id)
    assert await refusal(api, again, BadRequest) == "Bad Request: message to delete not found"


# ------------------------------------------------------------------ commands


async def test_commands_are_validated_and_stored_per_scope(
    api: FakeBotAPI, bot: Bot, chat_id: int
) -> None:
    commands = [BotCommand("start", "Start"), BotCommand("ayuda", "Ayuda")]
    assert await bot.set_my_commands(commands, language_code="es")
    assert await bot.get_my_commands(language_code="es") == tuple(commands)
    assert await bot.get_my_commands() == ()
    uppercase = bot.set_my_commands([BotCommand("Start", "Start")])
    assert await refusal(api, uppercase, BadRequest) == "Bad Request: BOT_COMMAND_INVALID"
    await refusal(api, bot.set_my_commands([BotCommand("x" * 33, "long")]), BadRequest)
    await refusal(api, bot.set_my_commands([BotCommand("ok", "")]), BadRequest)
    await refusal(api, bot.set_my_commands(commands, language_code="ES"), BadRequest)
    await refusal(api, bot.set_my_commands(commands, scope=BotCommandScopeChat(1)), BadRequest)
    assert await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    assert await bot.delete_my_commands(language_code="es")
    assert await bot.get_my_commands(language_code="es") == ()


async def test_descriptions_have_telegrams_limits(api: FakeBotAPI, bot: Bot) -> None:
    assert await bot.set_my_description("d" * 512)
    assert await bot.set_my_short_description("s" * 120, language_code="es")
    assert (await bot.get_my_short_description("es")).short_description == "s" * 120
    assert (await bot.get_my_description("es")).description == "d" * 512
    await refusal(api, bot.set_my_description("d" * 513), BadRequest)
    await refusal(api, bot.set_my_short_description("s" * 121), BadRequest)


# ---------------------------------------------------------------- getUpdates


async def test_get_updates_offset_confirms_and_drops(api: FakeBotAPI, bot: Bot) -> None:
    first, second, third = (api.message(text)["update_id"] for text in ("a", "b", "c"))
    assert [u.update_id for u in await bot.get_updates()] == [first, second, third]
    assert api.pending_updates() == 3, "delivered but unconfirmed updates stay queued"
    assert [u.update_id for u in await bot.get_updates(offset=second, limit=1)] == [second]
    assert api.confirmed_offset == second and api.pending_updates() == 2
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == [third]
    assert await bot.get_updates(offset=third + 1) == ()
    assert api.pending_updates() == 0 and api.confirmed_offset == third + 1


async def test_long_polling_returns_as_soon_as_an_update_arrives(api: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    api.message("hola")
    [update] = await poll
    assert update.message.text == "hola"
    assert time.monotonic() - started < 2


async def test_long_polling_honours_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_allowed_updates_filters_update_types(api: FakeBotAPI, bot: Bot) -> None:
    api.inline_query("pib")
    api.message("hola")
    updates = await bot.get_updates(allowed_updates=["message"])
    assert [u.message.text for u in updates] == ["hola"]


async def test_a_second_poller_terminates_the_first(api: FakeBotAPI, bot: Bot) -> None:
    """Two running instances of the bot: Telegram cuts the older long poll off."""
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    async with Bot(api.token, base_url=api.base_url) as second_instance:
        assert await second_instance.get_updates() == ()
    with pytest.raises(TelegramError, match="terminated by other getUpdates"):
        await first
    assert api.errors()[-1].status == 409


async def test_webhook_blocks_get_updates(api: FakeBotAPI, bot: Bot) -> None:
    assert await bot.set_webhook("https://bot.example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://bot.example.org/hook"
    await refusal(api, bot.get_updates(), TelegramError)
    api.message("hola")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


# ------------------------------------------------------------ fault injection


async def test_injected_429_raises_retry_after(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    api.fail("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat_id, "hi")
    assert caught.value.retry_after == 3
    assert api.calls[-1].error == "Too Many Requests: retry after 3"
    assert (await bot.send_message(chat_id, "again")).text == "again"
    assert api.errors() == [], "injected faults are not the bot's mistakes"


async def test_blocked_user_is_forbidden_for_good(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    api.message("hola", user_id=OTHER_USER_ID)
    api.fail("*", 403, "Forbidden: bot was blocked by the user", times=None, chat_id=chat_id)
    for _ in range(2):
        error = await refusal(api, bot.send_message(chat_id, "hi"), Forbidden)
        assert error == "Forbidden: bot was blocked by the user"
    await refusal(api, bot.send_chat_action(chat_id, "typing"), Forbidden)
    assert (await bot.send_message(OTHER_USER_ID, "hi")).chat.id == OTHER_USER_ID


async def test_server_errors_surface_as_network_errors(
    api: FakeBotAPI, bot: Bot, chat_id: int
) -> None:
    api.fail("sendMessage", 500)
    api.fail("sendMessage", 502, raw_body="<html><body>502 Bad Gateway</body></html>")
    for _ in range(2):
        await refusal(api, bot.send_message(chat_id, "hi"), NetworkError)
    assert [c.status for c in api.calls[-2:]] == [500, 502]


async def test_dropped_connections_lose_the_request_or_its_answer(
    api: FakeBotAPI, bot: Bot, chat_id: int
) -> None:
    api.drop("sendMessage")
    await refusal(api, bot.send_message(chat_id, "lost"), NetworkError)
    api.drop("sendMessage", after_processing=True)
    with pytest.raises(NetworkError):
        await bot.send_message(chat_id, "sent but unanswered")
    assert [m["text"] for m in api.bot_messages(chat_id)] == ["sent but unanswered"]


async def test_delays_make_clients_time_out_but_still_send(
    api: FakeBotAPI, bot: Bot, chat_id: int
) -> None:
    api.delay("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        await bot.send_message(chat_id, "slow", read_timeout=0.1)
    [call] = await api.wait_for("sendMessage", lambda c: c.ok, timeout=2)
    assert call.params["text"] == "slow"
    assert api.sent_messages(chat_id) == [call.params]


async def test_flood_limit_answers_429(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    api.flood_limit(per_chat_per_second=2)
    await bot.send_message(chat_id, "1")
    await bot.send_message(chat_id, "2")
    with pytest.raises(RetryAfter):
        await bot.send_message(chat_id, "3")
    api.flood_limit(None, per_group_per_minute=None)
    await bot.send_message(chat_id, "4")
    assert api.errors() == []


# ---------------------------------------------------------------- recording


async def test_wait_for_times_out_with_what_happened(api: FakeBotAPI, bot: Bot) -> None:
    await bot.get_me()
    with pytest.raises(TimeoutError, match="getMe"):
        await api.wait_for("sendMessage", timeout=0.05)


async def test_calls_record_decoded_parameters(api: FakeBotAPI, bot: Bot, chat_id: int) -> None:
    await bot.send_message(chat_id, "hi", reply_markup=keyboard(callback_data="c"))
    call = api.calls_to("sendMessage")[-1]
    assert call.ok and call.params["chat_id"] == str(chat_id)
    assert call.params["reply_markup"] == json.loads(keyboard(callback_data="c").to_json())
    assert call.result["message_id"] == 2


# ------------------------------------------------------- a whole application


async def test_a_polling_application_runs_cleanly_against_the_fake(api: FakeBotAPI) -> None:
    """The wiring the bot's own tests use; stopping must leave no errors behind."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_html("<b>Hola</b>", reply_markup=keyboard(callback_data="m"))

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Más")

    app = Application.builder().token(api.token).base_url(api.base_url).build()
    app.add_handlers([CommandHandler("start", start), CallbackQueryHandler(more)])
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5, poll_interval=0)
        api.message("/start")
        [sent] = await api.wait_for("sendMessage")
        api.callback("m", sent.result)
        await api.wait_for("editMessageText")
        await app.updater.stop()
        await app.stop()
    assert api.errors() == []
    assert api.pending_updates() == 0
    assert api.bot_messages(DEFAULT_USER_ID)[-1]["text"] == "Más"
