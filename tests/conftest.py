"""Fixtures for the end-to-end suite: the fake Bot API and the real bot against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.config import ENV_TOKEN, Config
from tests.auxil import conversation
from tests.auxil.fake_bot_api import FakeBotAPI


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    """A started fake Bot API server, stopped after the test."""
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture
def make_config(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Config]:
    """`make_config(tmp_path, fake, **sections)`: a Config for the fake server.

    TELEGRAM_BOT_TOKEN is removed first: it would override the fake's token.
    """
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    return conversation.make_config


@pytest.fixture
async def running_bot(
    fake: FakeBotAPI, make_config: Callable[..., Config], tmp_path: Path
) -> AsyncIterator[tuple[Application, FakeBotAPI]]:
    """The real application, polling the fake server; stopped after the test."""
    async with conversation.running(make_config(tmp_path, fake), fake) as app:
        yield app, fake


@pytest.fixture
def engine(running_bot: tuple[Application, Any]) -> Any:
    """The running bot's own engine, to compare what the bot says with what it should."""
    return conversation.engine_of(running_bot[0])
