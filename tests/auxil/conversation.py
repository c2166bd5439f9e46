"""Helpers for end-to-end conversations: the real bot, the fake Bot API, real HTTP.

The bot under test is built exactly as `faqbot run` builds it
(`build_application(config, open_backend(config))`); these helpers only
start it, push updates through `FakeBotAPI` and wait for what the bot sends.

Waiting is by message id, not by sleeping: the fake numbers messages per chat,
so the bot's replies to a user's message are the bot's messages in that chat
with a higher id. Silence is proven the same way, with a later message in the
same chat that does get a reply: updates of one chat are handled in order.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application

from bot.app import build_application, open_backend
from bot.config import Config, parse_config
from handlers.services import Services
from knowledge.engine import Engine
from tests.auxil.fake_bot_api import DEFAULT_USER_ID, Call, FakeBotAPI

ADMIN_ID = 424_242_001
SEND_METHODS = ("sendMessage", "sendContact")
TIMEOUT = 5.0

T = TypeVar("T")


def make_config(tmp_path: Path, fake: FakeBotAPI, **overrides: dict[str, Any]) -> Config:
    """A Config for the fake server, storage in tmp_path; `overrides` are TOML sections."""
    data: dict[str, Any] = {
        "telegram": {"token": fake.token, "base_url": fake.base_url, "admins": [ADMIN_ID]},
        "storage": {"path": str(tmp_path / "faqbot.sqlite3")},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return parse_config(data)


def services_of(app: Application) -> Services:
    return app.bot_data.services


def engine_of(app: Application) -> Engine:
    return services_of(app).engine


@asynccontextmanager
async def running(
    config: Config,
    fake: FakeBotAPI,
    *,
    admin_opens_chat: bool = True,
    webhook: dict[str, Any] | None = None,
) -> AsyncIterator[Application]:
    """The application started as `run_bot` starts it: polling, or `webhook` kwargs.

    With `admin_opens_chat`, each admin sends /start before the bot starts, as
    an admin does after creating the bot, so that the admin menu can be set.
    When polling, the reply to it shows the bot answers before the test begins;
    a webhook never receives it (nobody POSTs it), but the chat is known.
    """
    admin_updates = (
        [fake.message("/start", user_id=a, first_name="Admin") for a in config.telegram.admins]
        if admin_opens_chat
        else []
    )
    backend = open_backend(config)
    app = build_application(config, backend)
    try:
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        if webhook is None:
            await app.updater.start_polling(
                poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES
            )
        else:
            await app.updater.start_webhook(**webhook)
        try:
            for update in admin_updates if webhook is None else []:
                await reply_to(fake, update)
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
    finally:
        await app.shutdown()
        backend.close()


async def wait_until(
    found: Callable[[], T | None], what: str, fake: FakeBotAPI, timeout: float = TIMEOUT
) -> T:
    """Poll `found` until it returns something truthy; on timeout say what the bot did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = found()
        if result:
            return result
        if loop.time() > deadline:
            seen = [(c.method, c.ok, c.error) for c in fake.calls if c.method != "getUpdates"]
            raise TimeoutError(f"waited {timeout}s for {what}; calls other than getUpdates: {seen}")
        await asyncio.sleep(0.01)


def _same(value: Any, chat_id: int) -> bool:
    return value is not None and str(value) == str(chat_id)


def sends(fake: FakeBotAPI, chat_id: int, since: int = 0) -> list[Call]:
    """Successful sendMessage/sendContact calls to a chat, from call index `since`."""
    return [
        call
        for call in fake.calls[since:]
        if call.ok and call.method in SEND_METHODS and _same(call.params.get("chat_id"), chat_id)
    ]


def chat_of(update: dict[str, Any]) -> int:
    return int(update["message"]["chat"]["id"])


async def reply_to(
    fake: FakeBotAPI, update: dict[str, Any], count: int = 1, timeout: float = TIMEOUT
) -> list[Call]:
    """Wait for `count` messages the bot sent in the update's chat after that message."""
    chat_id, message_id = chat_of(update), int(update["message"]["message_id"])

    def replies() -> list[Call]:
        later = [c for c in sends(fake, chat_id) if c.result["message_id"] > message_id]
        return later if len(later) >= count else []

    return await wait_until(replies, f"{count} repl(ies) to message {message_id}", fake, timeout)


async def ask(fake: FakeBotAPI, text: str, count: int = 1, **kwargs: Any) -> list[Call]:
    """A user sends `text`; the bot's replies (`kwargs` go to `fake.message`)."""
    return await reply_to(fake, fake.message(text, **kwargs), count)


async def silence_then_reply(
    fake: FakeBotAPI, silent: list[dict[str, Any]], sentinel: dict[str, Any]
) -> list[Call]:
    """Prove the `silent` updates got no reply; returns the replies to `sentinel`.

    `sentinel`, sent after them in the same chat, must be answered; as one
    chat's updates are handled in order, the others were handled by then, and
    nothing the bot sent may come between them or quote them.
    """
    chat_id = chat_of(sentinel)
    assert all(chat_of(update) == chat_id for update in silent)
    answered = await reply_to(fake, sentinel)
    first = min(int(update["message"]["message_id"]) for update in silent)
    last = int(sentinel["message"]["message_id"])
    silent_ids = {int(update["message"]["message_id"]) for update in silent}
    between = [c for c in sends(fake, chat_id) if first < c.result["message_id"] < last]
    quoting = [
        c
        for c in sends(fake, chat_id)
        if (c.params.get("reply_parameters") or {}).get("message_id") in silent_ids
    ]
    assert between == [] and quoting == [], f"the bot answered one of {sorted(silent_ids)}"
    return answered


@dataclass(frozen=True)
class Pressed:
    """A button press: the query id, the bot's answerCallbackQuery, what it sent after."""

    query_id: str
    answer: Call
    sent: list[Call]

    @property
    def notice(self) -> str | None:
        return self.answer.params.get("text")


async def press(
    fake: FakeBotAPI,
    data: str,
    message: dict[str, Any] | None = None,
    *,
    replies: int = 0,
    user_id: int = DEFAULT_USER_ID,
    language_code: str | None = "en",
    check_buttons: bool = True,
    timeout: float = TIMEOUT,
) -> Pressed:
    """Press a button with callback `data` on `message` (default: the latest with buttons).

    Waits for the answerCallbackQuery and for `replies` messages sent to the chat.
    """
    chat_id = int(message["chat"]["id"]) if message is not None else user_id
    since = len(fake.calls)
    query_id = fake.callback(
        data,
        message,
        user_id,
        chat_id=None if message is not None else chat_id,
        language_code=language_code,
        check_buttons=check_buttons,
    )
    [answer] = await fake.wait_for(
        "answerCallbackQuery",
        lambda c: c.params.get("callback_query_id") == query_id,
        timeout=timeout,
    )
    if not replies:
        return Pressed(query_id, answer, [])

    def sent() -> list[Call]:
        found = sends(fake, chat_id, since)
        return found if len(found) >= replies else []

    after = await wait_until(sent, f"{replies} message(s) after {data!r}", fake, timeout)
    return Pressed(query_id, answer, after)


def keyboard(call: Call) -> list[list[dict[str, Any]]]:
    """The inline keyboard a sent message carries (rows of button dicts)."""
    markup = call.params.get("reply_markup") or {}
    return markup.get("inline_keyboard", [])


def buttons(call: Call) -> list[dict[str, Any]]:
    return [button for row in keyboard(call) for button in row]


def button(call: Call, label: str) -> dict[str, Any]:
    """The one button with this label."""
    [found] = [b for b in buttons(call) if b["text"] == label]
    return found


def visible(call: Call) -> str:
    """What the user sees of a text message: the text after Telegram parsed the HTML."""
    return call.result.get("text", "")


def squash(text: str) -> str:
    """Whitespace-insensitive form, to compare split messages with the whole text."""
    return re.sub(r"\s+", " ", text).strip()


def callback_answers(fake: FakeBotAPI, query_id: str) -> list[Call]:
    return [
        c
        for c in fake.calls_to("answerCallbackQuery")
        if c.params.get("callback_query_id") == query_id
    ]
