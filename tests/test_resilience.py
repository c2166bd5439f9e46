"""The reader comes first: a locked database or a broken reload costs statistics, not answers.

The real Application talks real HTTP to the strict fake Bot API. The
database is locked the way another program locks it: a second sqlite3
connection on the bot's own file holds `BEGIN EXCLUSIVE`. The knowledge base
is broken the way no checker foresaw: a file nested 5,000 levels deep, which
exhausts the YAML parser's recursion.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from knowledge.reload import Reloader
from tests.auxil.admin_scenarios import copy_knowledge, revise_answer
from tests.auxil.conversation import (
    ask,
    button,
    engine_of,
    press,
    reply_to,
    running,
    services_of,
    visible,
    wait_until,
)
from tests.auxil.fake_bot_api import FakeBotAPI
from tests.auxil.knowledge_fixtures import bundled_engine

EVENT_QUESTION = "When is the ECLAC session?"
# The bot waits this long (its sqlite3 timeout) for a lock before giving up on a write.
LOCKED_REPLY_TIMEOUT = 10.0
NESTED = "[" * 5000 + "]" * 5000 + "\n"
# PyYAML's scanner takes seconds over such a file (its work grows with the square of the depth).
NESTED_CHECK_TIMEOUT = 60.0
MARKER = "REVISED"


@contextmanager
def database_locked(path: Path) -> Iterator[None]:
    """Another program holds the bot's database locked until the block ends."""
    other = sqlite3.connect(str(path), isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def storage_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "storage unavailable" in r.getMessage()
    ]


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


# ----------------------------------------------------------------- a locked database


async def test_reader_gets_the_answer_while_the_database_is_locked(running_bot, engine, caplog):
    app, fake = running_bot
    storage = services_of(app).records
    event = engine.open("event", "en")
    assert event is not None and event.title

    with database_locked(storage.path):
        question = fake.message(EVENT_QUESTION)
        [reply] = await reply_to(fake, question, timeout=LOCKED_REPLY_TIMEOUT)
        # The reply does not wait for the record: keep the lock until the writer gives it up.
        await wait_until(
            lambda: storage_warnings(caplog), "the record given up", fake, LOCKED_REPLY_TIMEOUT
        )

    assert visible(reply).startswith(event.title)
    assert error_records(caplog) == []
    assert storage.questions_since(0) == []
    # Once the other program lets go, questions are recorded again.
    await ask(fake, "What does ECLAC recommend?")
    assert [q.entry_id for q in storage.questions_since(0)] == ["recommendations"]
    assert fake.errors() == []


async def test_a_thumbs_up_is_acknowledged_while_the_database_is_locked(
    running_bot, engine, caplog
):
    app, fake = running_bot
    storage = services_of(app).records
    [reply] = await ask(fake, "What does ECLAC recommend?")

    with database_locked(storage.path):
        pressed = await press(
            fake, button(reply, "👍")["callback_data"], reply.result, timeout=LOCKED_REPLY_TIMEOUT
        )
        # Keep the lock until the bot has tried to write the vote.
        await wait_until(
            lambda: storage_warnings(caplog), "the vote given up", fake, LOCKED_REPLY_TIMEOUT
        )

    assert pressed.notice == engine.text("feedback_thanks", "en")
    assert error_records(caplog) == []
    assert fake.errors() == []


# ------------------------------------------------------- a reload that blows up


def reload_attempts(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Log lines of a reload that did not go live: refused, or failed outright."""
    said = ("NOT reloaded", "reloading the changed knowledge base failed")
    return [r for r in caplog.records if any(words in r.getMessage() for words in said)]


def test_a_file_nested_too_deeply_is_a_problem_and_the_live_knowledge_base_stays(tmp_path):
    engine = bundled_engine()
    before = engine.knowledge
    nested = tmp_path / "faq.yaml"
    nested.write_text(NESTED, encoding="utf-8")

    outcome = Reloader(engine, nested).reload()

    assert not outcome.ok
    [problem] = outcome.problems
    assert problem.path == str(nested)
    assert "nested too deeply" in problem.message
    assert engine.knowledge is before
    assert engine.ask(EVENT_QUESTION).entry_id == "event"


async def test_the_watcher_survives_a_file_nested_too_deeply_and_loads_the_next_edit(
    fake: FakeBotAPI, make_config, tmp_path, caplog
):
    knowledge = copy_knowledge(tmp_path)
    original = knowledge.read_text(encoding="utf-8")
    config = make_config(
        tmp_path,
        fake,
        telegram={"per_chat_per_second": 1_000},
        knowledge={"path": str(knowledge), "watch": True, "watch_interval": 0.2},
    )
    async with running(config, fake) as app:
        engine = engine_of(app)
        before = engine.knowledge
        [served_before] = await ask(fake, EVENT_QUESTION)

        knowledge.write_text(NESTED, encoding="utf-8")
        await wait_until(
            lambda: reload_attempts(caplog),
            "the watcher to try the nested file",
            fake,
            NESTED_CHECK_TIMEOUT,
        )
        [served_meanwhile] = await ask(fake, EVENT_QUESTION)
        assert engine.knowledge is before
        assert visible(served_meanwhile) == visible(served_before)

        knowledge.write_text(revise_answer(original, "event", MARKER), encoding="utf-8")
        await wait_until(lambda: engine.knowledge is not before, "the edit to go live", fake)
        [served_after] = await ask(fake, EVENT_QUESTION)

    assert f"{MARKER} ECLAC holds" in visible(served_after)
    assert fake.errors() == []
