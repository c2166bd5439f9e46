"""Who may do what, and where the token may never show up.

Admin commands and admin buttons are refused, politely and on the record, to
anyone not listed in `[telegram] admins`, even when the button data is forged.
The token (and its secret half alone) appears in nothing `faqbot run` writes,
from start-up through a handled error to shutdown, even when Telegram's own
error text carries it. A config file holding the token draws a warning until
only its owner can read it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.cli import main as faqbot_main
from bot.config import Config, load_config
from bot.storage import normalise_for_log
from handlers import callback_data
from knowledge.loader import bundled_path
from tests.auxil.bot_process import QUESTION, spawn_faqbot, stop, write_config
from tests.auxil.conversation import (
    ADMIN_ID,
    ask,
    buttons,
    engine_of,
    press,
    running,
    sends,
    services_of,
    visible,
    wait_until,
)
from tests.auxil.fake_bot_api import FakeBotAPI

STRANGER = 777_000_123


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """The bundled knowledge base, copied: an admin action that got through would edit it."""
    path = tmp_path / "faq.yaml"
    shutil.copyfile(bundled_path(), path)
    return path


@pytest.fixture
async def bot(
    fake: FakeBotAPI, make_config: Callable[..., Config], tmp_path: Path, knowledge_copy: Path
) -> AsyncIterator[Application]:
    config = make_config(tmp_path, fake, knowledge={"path": str(knowledge_copy)})
    async with running(config, fake) as app:
        yield app


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "admin command refused" in r.getMessage()
    ]


def refusal_of(bot: Application, user_id: int) -> str:
    """The refusal's log line: the user id hashed, as stored (the README's promise)."""
    return f"admin command refused for user {services_of(bot).records.user_hash(user_id)}"


@pytest.mark.parametrize(
    ("command", "language"),
    [("/reload", "en"), ("/stats", "en"), ("/review", "en"), ("/reload", "es")],
)
async def test_a_stranger_is_refused_admin_commands_politely_and_it_is_logged(
    bot: Application,
    fake: FakeBotAPI,
    knowledge_copy: Path,
    caplog: pytest.LogCaptureFixture,
    command: str,
    language: str,
) -> None:
    engine = engine_of(bot)
    live, on_disk = engine.knowledge, knowledge_copy.read_bytes()
    [reply] = await ask(fake, command, user_id=STRANGER, language_code=language)
    assert reply.result["text"] == engine.text("admin_only", language)
    assert "reply_markup" not in reply.params
    assert refusals(caplog) == [refusal_of(bot, STRANGER)]
    assert engine.knowledge is live, "nothing was reloaded"
    assert knowledge_copy.read_bytes() == on_disk
    assert fake.errors() == []


async def test_the_admin_is_not_refused(
    bot: Application, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    [reply] = await ask(fake, "/stats", user_id=ADMIN_ID)
    assert reply.result["text"] != engine_of(bot).text("admin_only", "en")
    assert refusals(caplog) == []


async def test_a_forged_review_button_from_a_stranger_changes_nothing(
    bot: Application, fake: FakeBotAPI, knowledge_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_of(bot)
    live, on_disk = engine.knowledge, knowledge_copy.read_bytes()
    [greeting] = await ask(fake, "/start", user_id=STRANGER)
    since = len(fake.calls)
    pressed = await press(
        fake, "r|add|0|contact", greeting.result, user_id=STRANGER, check_buttons=False
    )
    assert pressed.notice == engine.text("admin_only", "en")
    assert refusals(caplog) == [refusal_of(bot, STRANGER)]
    # Handled in order: once /help is answered, the press has had all its effects.
    [reply] = await ask(fake, "/help", user_id=STRANGER)
    assert [c for c in sends(fake, STRANGER, since) if c is not reply] == []
    edits = [c for c in fake.calls[since:] if c.method.startswith("editMessage")]
    assert edits == []
    assert engine.knowledge is live
    assert knowledge_copy.read_bytes() == on_disk
    assert fake.errors() == []


async def test_the_token_is_in_no_line_the_running_bot_writes(
    fake: FakeBotAPI, tmp_path: Path
) -> None:
    token = fake.token
    secret = token.split(":", 1)[1]
    # Telegram's error text is not ours to trust: make it carry the token, whole and half.
    fake.fail("sendMessage", 400, f"Bad Request: chat not found for bot{token}")
    fake.fail("sendMessage", 400, f"Bad Request: wrong secret {secret}")
    process = await spawn_faqbot(write_config(tmp_path, fake))
    try:
        chats = [int(fake.message(QUESTION, user_id=u)["message"]["chat"]["id"]) for u in (1, 2, 3)]
        refused = await fake.wait_for("sendMessage", lambda c: not c.ok, count=2, timeout=30)
        assert len(refused) == 2
        await wait_until(lambda: any(sends(fake, c) for c in chats), "the third reply", fake, 30)
        await asyncio.sleep(0.5)  # let the error handler write its lines
    finally:
        code, output = await stop(process)
    assert code == 0, output
    assert "update" in output and "failed" in output, "the handled errors were logged"
    assert "Chat not found for bot<token>" in output and "Wrong secret <token>" in output
    # PTB capitalises error texts, lower-casing the rest: a lower-cased token is still a leak.
    assert token.lower() not in output.lower()
    assert secret.lower() not in output.lower()


def config_file(
    tmp_path: Path, mode: int, token: str | None = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"
) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[telegram]\ntoken = "{token}"\n' if token else "[telegram]\n")
    path.chmod(mode)
    return path


def test_a_token_in_a_file_others_can_read_draws_a_chmod_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    path = config_file(tmp_path, 0o644)
    [warning] = load_config(path).warnings
    assert "chmod 600" in warning
    assert str(path) in warning
    assert "ABCdefGHI" not in warning


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_token_in_a_private_file_draws_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert load_config(config_file(tmp_path, mode)).warnings == ()


def test_a_readable_file_without_a_token_draws_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert load_config(config_file(tmp_path, 0o644, token=None)).warnings == ()


async def test_a_forged_did_you_mean_choice_rewrites_no_one_elses_question(
    bot: Application,
    fake: FakeBotAPI,
    tmp_path: Path,
    knowledge_copy: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Question ids are sequential: a stranger can name someone else's in a "did you mean"
    button. The admin's /review and `faqbot report --suggest` must not take it as that
    person's choice."""
    engine = engine_of(bot)
    question = next(q for q in ("whre is the meting", "wat forums") if engine.ask(q).suggestions)
    asker = 777_000_200
    [unsure] = await ask(fake, question, user_id=asker)
    theirs = callback_data.decode(buttons(unsure)[0]["callback_data"])
    assert isinstance(theirs, callback_data.Choose) and theirs.question_id
    # The stranger's own message, to press a forged button on.
    [greeting] = await ask(fake, "/start", user_id=STRANGER)
    forged = callback_data.encode(callback_data.Choose("contact", "en", theirs.question_id))
    await press(fake, forged, greeting.result, user_id=STRANGER, check_buttons=False, replies=2)

    [review] = await ask(fake, "/review", user_id=ADMIN_ID)

    heading = engine.text("review_heading", "en").format(
        number=1, total=1, count=1, reason=engine.text("review_reason_unanswered", "en")
    )
    assert visible(review).splitlines()[:2] == [heading, f"“{normalise_for_log(question)}”"]
    assert "contact" not in visible(review)
    config = write_config(tmp_path, None, knowledge={"path": str(knowledge_copy)})
    capsys.readouterr()
    assert faqbot_main(["--config", str(config), "report", "--suggest"]) == 0
    report = capsys.readouterr().out
    assert "# entry: contact" not in report
    assert services_of(bot).records.choices_for([theirs.question_id]) == {}
    assert fake.errors() == []


async def test_the_database_alone_does_not_tell_whose_questions_it_holds(
    bot: Application, fake: FakeBotAPI, tmp_path: Path
) -> None:
    """Telegram user ids are not secret: with the salt in the same file, anyone holding
    the database (a backup, a copy for a curator) could hash a known id and find that
    person's questions. The salt lives apart, in a file only the bot's user can read."""
    reader = 777_000_300
    await ask(fake, "Who is the press contact?", count=2, user_id=reader)
    await ask(fake, "/language es", user_id=reader)
    database = tmp_path / "faqbot.sqlite3"
    salt_file = database.with_name(database.name + ".salt")

    with sqlite3.connect(database) as db:
        stored = {h for (h,) in db.execute("SELECT user_hash FROM questions")}
        stored |= {h for (h,) in db.execute("SELECT user_hash FROM preferences")}
        values = [v for (v,) in db.execute("SELECT value FROM meta")]
    db.close()

    assert stored == {services_of(bot).records.user_hash(reader)}
    assert all(salted_hash(value, reader) not in stored for value in values)
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    assert salted_hash(salt_file.read_text(encoding="utf-8").strip(), reader) in stored
    assert fake.errors() == []


def salted_hash(salt: str, user_id: int) -> str:
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:32]
