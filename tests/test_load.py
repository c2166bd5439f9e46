"""10,000 questions from 1,000 people: all answered, memory flat, per-chat state bounded.

The flood limits are raised far above Telegram's so that this measures the
bot, not the rate limiter. Memory is the test process's resident set (the
fake server lives in it too, and keeps every call it saw), so the bound is
generous: it catches a leak per update, not a few megabytes of caches.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.app import PerChatUpdateProcessor, PrivateChatRateLimiter
from bot.config import Config
from handlers.render import render
from knowledge.engine import Engine
from tests.auxil.conversation import SEND_METHODS, engine_of, running
from tests.auxil.fake_bot_api import Call, FakeBotAPI

USERS = 1_000
UPDATES = 10_000
FIRST_USER = 820_000_001
MAX_RSS_GROWTH_MB = 150
# A mix of what people ask: answers, a contact card, "did you mean", greetings, nonsense.
QUESTIONS = (
    "Where is the event held?",
    "What does ECLAC recommend?",
    "¿Quién es el contacto de prensa?",
    "visa for chile",
    "hola",
    "What forums are mentioned?",
    "¿Qué recomienda la CEPAL sobre las mujeres migrantes?",
    "<b>&amp;</b> ???",
)


def rss_mb() -> float:
    gc.collect()
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def messages_per_answer(engine: Engine, question: str, language: str) -> int:
    answer = engine.ask(question, fallback=language)
    card = answer.contact_card
    return len(render(answer)) + int(card)


@pytest.fixture
async def fast_bot(
    fake: FakeBotAPI, make_config: Callable[..., Config], tmp_path: Path
) -> AsyncIterator[Application]:
    limits = {"overall_per_second": 100_000, "per_chat_per_second": 1_000}
    async with running(make_config(tmp_path, fake, telegram=limits), fake) as app:
        yield app


async def test_ten_thousand_updates_from_a_thousand_users_are_all_answered(
    fast_bot: Application, fake: FakeBotAPI
) -> None:
    engine = engine_of(fast_bot)
    processor = fast_bot.update_processor
    limiter = fast_bot.bot.rate_limiter
    assert isinstance(processor, PerChatUpdateProcessor)
    assert isinstance(limiter, PrivateChatRateLimiter)
    expected: Counter[int] = Counter()
    users = itertools.cycle(range(FIRST_USER, FIRST_USER + USERS))
    questions = itertools.cycle(QUESTIONS)
    per_question = {q: messages_per_answer(engine, q, "en") for q in QUESTIONS}
    fake.calls.clear()
    buckets_before = limiter.tracked_chats  # the admin's chat, opened at start
    before = rss_mb()
    started = time.perf_counter()

    for _ in range(UPDATES):
        user, question = next(users), next(questions)
        fake.message(question, user_id=user)
        expected[user] += per_question[question]
    total = sum(expected.values())

    # The fake keeps every call it sees; count them and let them go, so that
    # the resident set measures the bot rather than the fake's records.
    sent: Counter[int] = Counter()
    refused: list[Call] = []
    deadline = time.monotonic() + 150  # a safety net, not a target: about 60 s on 2 cores
    while sum(sent.values()) < total and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        calls, fake.calls[:] = list(fake.calls), []
        for call in calls:
            if call.ok and call.method in SEND_METHODS:
                sent[int(call.params["chat_id"])] += 1
            elif not call.ok and not call.simulated:
                refused.append(call)
    elapsed = time.perf_counter() - started
    after = rss_mb()
    print(
        f"\n{UPDATES} updates, {total} messages from {USERS} users in {elapsed:.1f} s "
        f"({UPDATES / elapsed:.0f} updates/s); RSS {before:.0f} MB -> {after:.0f} MB"
    )

    assert sent == expected, "messages per chat"
    assert refused == []
    assert after - before < MAX_RSS_GROWTH_MB
    await asyncio.sleep(0.1)
    assert processor.tracked_chats == 0, "idle: no per-chat lock is kept"
    assert limiter.tracked_chats <= buckets_before + USERS, "a bucket per chat, not per update"
