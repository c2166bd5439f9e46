"""The bot's HTTP client, against the fake Bot API over real HTTP.

What matters to the rest of the bot: Telegram receives exactly what
python-telegram-bot meant to send; Telegram's answers and refusals come back
as python-telegram-bot's own objects and errors; and a failure says whether
the request was never sent (safe to send again) or may have been carried out.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.aiohttp_request import AiohttpRequest
from bot.app import _not_carried_out
from tests.auxil.fake_bot_api import FakeBotAPI


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest(4)) as client:
        yield client


@pytest.fixture
def chat_id(fake: FakeBotAPI) -> int:
    return int(fake.message("/start")["message"]["chat"]["id"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_spanish_answer_with_buttons_reaches_telegram_intact(
    bot: Bot, fake: FakeBotAPI, chat_id: int
) -> None:
    text = "<b>¿Dónde?</b> En Montevideo 🇺🇾 &amp; en línea"
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Recomendaciones", callback_data="o:recommendations:es")]]
    )
    sent = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    [call] = fake.calls_to("sendMessage")
    assert call.ok, call.error
    assert call.params["text"] == text
    assert int(call.params["chat_id"]) == chat_id
    assert call.params["reply_markup"] == keyboard.to_dict()
    assert sent.text == "¿Dónde? En Montevideo 🇺🇾 & en línea"
    assert sent.reply_markup == keyboard


async def test_telegram_refusing_a_message_is_python_telegram_bots_own_error(
    bot: Bot, fake: FakeBotAPI, chat_id: int
) -> None:
    with pytest.raises(BadRequest, match=r"[Cc]an't parse entities"):
        await bot.send_message(chat_id, "<b>never closed", parse_mode=ParseMode.HTML)
    assert not _not_carried_out(BadRequest("x")), "a refusal is final"


async def test_an_upload_goes_as_multipart_form_data(bot: Bot, fake: FakeBotAPI) -> None:
    certificate = b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"
    assert await bot.set_webhook("https://example.org/hook", certificate=certificate)
    [call] = fake.calls_to("setWebhook")
    assert call.params["url"] == "https://example.org/hook"
    assert call.params["certificate"]["size"] == len(certificate)


async def test_a_request_that_waited_too_long_for_a_connection_was_not_sent(
    fake: FakeBotAPI, chat_id: int
) -> None:
    """One connection, busy with a slow answer: the second request gives up unsent."""
    fake.delay("sendMessage", 1.0)
    request = AiohttpRequest(1, pool_timeout=0.2)
    async with Bot(fake.token, base_url=fake.base_url, request=request) as bot:
        slow = asyncio.create_task(bot.send_message(chat_id, "first"))
        await asyncio.sleep(0.1)
        with pytest.raises(TimedOut) as waited:
            await bot.send_message(chat_id, "second")
        await slow
    assert isinstance(waited.value.__cause__, aiohttp.ConnectionTimeoutError)
    assert _not_carried_out(waited.value), "never sent, so safe to send again"
    assert [c.params["text"] for c in fake.calls_to("sendMessage")] == ["first"]


async def test_an_answer_slower_than_the_read_timeout_may_have_been_carried_out(
    bot: Bot, fake: FakeBotAPI, chat_id: int
) -> None:
    fake.delay("sendMessage", 1.0)
    with pytest.raises(TimedOut) as slow:
        await bot.send_message(chat_id, "slow", read_timeout=0.2)
    assert not _not_carried_out(slow.value), "sending again could answer twice"
    await asyncio.sleep(1.0)
    assert [c.params["text"] for c in fake.calls_to("sendMessage")] == ["slow"]


async def test_nobody_listening_is_a_network_error_without_the_token() -> None:
    token = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"
    request = AiohttpRequest(connect_timeout=2.0)
    bot = Bot(token, base_url=f"http://127.0.0.1:{free_port()}/bot", request=request)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await bot.get_me()
    finally:
        await request.shutdown()
    assert _not_carried_out(refused.value), "a refused connection sent nothing"
    assert "ABCdef" not in str(refused.value)


async def test_the_client_can_be_shut_down_and_started_again(
    fake: FakeBotAPI, chat_id: int
) -> None:
    request = AiohttpRequest()
    bot = Bot(fake.token, base_url=fake.base_url, request=request)
    for text in ("before", "after"):
        async with bot:
            await bot.send_message(chat_id, text)
    assert [c.params["text"] for c in fake.calls_to("sendMessage")] == ["before", "after"]


def test_a_pool_without_connections_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpRequest(0)
