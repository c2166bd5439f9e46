"""Webhook mode: Telegram POSTs updates to the bot, which must check the secret token.

The bot is started with `updater.start_webhook(...)`, the call `run_bot` makes
through `run_webhook`; updates are POSTed by hand, as Telegram would, and the
bot answers through the fake Bot API.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import Update

from tests.auxil.conversation import engine_of, reply_to, running, silence_then_reply, visible
from tests.auxil.fake_bot_api import FakeBotAPI

SECRET = "s3cret-token"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PUBLIC_URL = "https://example.invalid/telegram"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def webhook_bot(fake, make_config, tmp_path) -> AsyncIterator[tuple[Any, FakeBotAPI, str]]:
    """The bot in webhook mode; yields (app, fake, the local address Telegram would POST to)."""
    port = free_port()
    hook = {
        "listen": "127.0.0.1",
        "port": port,
        "url_path": "telegram",
        "webhook_url": PUBLIC_URL,
        "secret_token": SECRET,
        "allowed_updates": Update.ALL_TYPES,
    }
    async with running(make_config(tmp_path, fake), fake, webhook=hook) as app:
        yield app, fake, f"http://127.0.0.1:{port}/telegram"


async def post(url: str, update: dict[str, Any], secret: str | None) -> int:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers=headers) as response,
    ):
        return response.status


async def test_webhook_is_registered_with_the_secret_token(webhook_bot):
    _, fake, _ = webhook_bot
    [call] = fake.calls_to("setWebhook")

    assert call.ok
    assert call.params["url"] == PUBLIC_URL
    assert call.params["secret_token"] == SECRET
    assert fake.errors() == []


async def test_update_with_the_secret_is_answered(webhook_bot):
    app, fake, url = webhook_bot
    update = fake.message("What does ECLAC recommend?")

    assert await post(url, update, SECRET) == 200

    [reply] = await reply_to(fake, update)
    title = engine_of(app).open("recommendations", "en").title
    assert visible(reply).startswith(title)
    assert fake.errors() == []


async def test_update_without_the_right_secret_is_refused(webhook_bot):
    _, fake, url = webhook_bot
    forged = [fake.message("What does ECLAC recommend?") for _ in range(2)]

    assert await post(url, forged[0], "wrong-token") == 403
    assert await post(url, forged[1], None) == 403

    sentinel = fake.message("/start")
    assert await post(url, sentinel, SECRET) == 200
    await silence_then_reply(fake, forged, sentinel)
    assert fake.errors() == []
