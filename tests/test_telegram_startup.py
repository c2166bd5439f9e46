"""Start-up: what the bot tells Telegram about itself, and `faqbot run` as a process.

The process tests run the real command line in a subprocess against the fake
Bot API, which keeps serving in this test's event loop meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from handlers.menus import ADMIN_COMMANDS, PUBLIC_COMMANDS
from knowledge.check import check_file
from knowledge.loader import bundled_path
from tests.auxil.bot_process import (
    PROCESS_TIMEOUT,
    finished,
    spawn_faqbot,
    start_faqbot,
    stop,
    write_config,
)
from tests.auxil.conversation import ADMIN_ID, ask, engine_of, reply_to, running, visible
from tests.auxil.fake_bot_api import BOT_USERNAME, FakeBotAPI


def language_of(params: dict) -> str:
    return params.get("language_code") or ""


def has_scope(params: dict) -> bool:
    return params.get("scope") not in (None, "")


# ---------------------------------------------------------------- what Telegram is told


async def test_command_menus_are_published_in_english_and_spanish(running_bot, engine):
    _, fake = running_bot
    menus = {
        language_of(c.params): c.params["commands"]
        for c in fake.calls_to("setMyCommands")
        if c.ok and not has_scope(c.params)
    }

    assert set(menus) == {"", "es"}
    for code, language in (("", "en"), ("es", "es")):
        assert menus[code] == [
            {"command": c, "description": engine.text(f"cmd_{c}", language)}
            for c in PUBLIC_COMMANDS
        ]
    assert fake.errors() == []


async def test_descriptions_are_published_in_english_and_spanish(running_bot, engine):
    _, fake = running_bot
    for method, field, key in (
        ("setMyDescription", "description", "bot_description"),
        ("setMyShortDescription", "short_description", "bot_short_description"),
    ):
        published = {language_of(c.params): c.params[field] for c in fake.calls_to(method) if c.ok}
        assert published == {"": engine.text(key, "en"), "es": engine.text(key, "es")}, method
    assert fake.errors() == []


async def test_admin_gets_the_admin_menu_in_their_own_chat_in_both_languages(running_bot, engine):
    _, fake = running_bot
    menus = [c for c in fake.calls_to("setMyCommands") if has_scope(c.params)]

    by_language = {language_of(c.params): c for c in menus}
    assert sorted(by_language) == ["", "es"]
    for code, language in (("", "en"), ("es", "es")):
        admin_menu = by_language[code]
        assert admin_menu.ok
        assert admin_menu.params["scope"] == {"type": "chat", "chat_id": ADMIN_ID}
        commands = [c["command"] for c in admin_menu.params["commands"]]
        assert commands == [*PUBLIC_COMMANDS, *ADMIN_COMMANDS]
        reload_item = admin_menu.params["commands"][len(PUBLIC_COMMANDS)]
        assert reload_item["description"] == engine.text("admin_cmd_reload", language)
    assert fake.errors() == []


async def test_admin_who_never_wrote_to_the_bot_costs_only_a_warning(
    fake, make_config, tmp_path, caplog
):
    caplog.set_level(logging.WARNING)
    config = make_config(tmp_path, fake)
    async with running(config, fake, admin_opens_chat=False) as app:
        [reply] = await ask(fake, "/start")
        assert engine_of(app).text("greeting", "en").splitlines()[0] in visible(reply)

    warnings = [r for r in caplog.records if "admin menu" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Deliberately provoked: Telegram refuses a chat scope for a chat the bot never saw.
    [refused] = fake.errors()
    assert refused.method == "setMyCommands" and refused.params["scope"]["chat_id"] == ADMIN_ID


# ---------------------------------------------------------------- `faqbot run` process


async def test_run_without_a_token_says_so_in_one_line(fake, tmp_path):
    process = await spawn_faqbot(write_config(tmp_path, None, telegram={"base_url": fake.base_url}))

    code, out, err = await finished(process)

    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "token" in err.lower()
    assert "Traceback" not in out + err
    assert fake.calls == []


async def test_run_with_a_wrong_token_fails_clearly_without_showing_it(fake, tmp_path):
    token = "123:wrong"
    config = write_config(tmp_path, None, telegram={"base_url": fake.base_url, "token": token})
    process = await spawn_faqbot(config)

    code, out, err = await finished(process)

    assert code != 0
    assert "rejected the token" in err.strip().splitlines()[-1]
    assert token not in out + err
    # Refused by the fake with 401, as Telegram refuses it: the one expected failure.
    assert {(c.method, c.status) for c in fake.errors()} == {("getMe", 401)}


async def test_run_with_a_wrong_token_prints_no_traceback(fake, tmp_path):
    config = write_config(
        tmp_path, None, telegram={"base_url": fake.base_url, "token": "123:wrong"}
    )
    process = await spawn_faqbot(config)

    code, out, err = await finished(process)

    assert code != 0
    assert "Traceback" not in out + err


async def test_run_starts_answers_and_stops_on_sigterm(fake: FakeBotAPI, tmp_path):
    entries = len(check_file(bundled_path()).loaded.knowledge.entries)
    process = await spawn_faqbot(write_config(tmp_path, fake))
    assert process.stderr is not None
    log: list[str] = []
    try:
        while not any(f"@{BOT_USERNAME}" in line for line in log):
            line = await asyncio.wait_for(process.stderr.readline(), PROCESS_TIMEOUT)
            assert line, f"faqbot exited before starting: {''.join(log)}"
            log.append(line.decode())

        [reply] = await reply_to(fake, fake.message("What does ECLAC recommend?"), timeout=10)
        assert visible(reply)
        process.send_signal(signal.SIGTERM)
        code, out, err = await finished(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    output = "".join(log) + err + out
    started = [line for line in output.splitlines() if f"@{BOT_USERNAME}" in line]
    assert len(started) == 1 and f"{entries} entries" in started[0], output
    assert code == 0, output
    assert "Traceback" not in output
    assert fake.token not in output
    assert fake.token.split(":", 1)[1] not in output
    assert fake.errors() == []


async def test_run_asks_telegram_only_for_the_updates_it_handles(fake: FakeBotAPI, tmp_path):
    """No edited messages, member or reaction updates: Telegram need not even send them."""
    bot = await start_faqbot(write_config(tmp_path, fake))
    try:
        await bot.wait_for_line(lambda line: f"@{BOT_USERNAME}" in line)
        [reply] = await reply_to(fake, fake.message("What does ECLAC recommend?"), timeout=10)
        assert visible(reply)
    finally:
        code, output = await stop(bot.process)

    polls = fake.calls_to("getUpdates")
    assert polls
    wanted = ["callback_query", "inline_query", "message"]
    assert [sorted(c.params.get("allowed_updates") or []) for c in polls] == [wanted] * len(polls)
    assert code == 0, output
    assert fake.errors() == []


async def test_a_curators_duplicated_question_is_a_warning_and_the_bot_starts(
    fake: FakeBotAPI, tmp_path
):
    """A question copied into a second entry: the bot starts, answers, and logs where."""
    knowledge = tmp_path / "faq.yaml"
    text = bundled_path().read_text(encoding="utf-8")
    duplicate = '        - "Who is the press contact?"\n'
    knowledge.write_text(
        text.replace(
            '        - "what does CELADE do"\n', '        - "what does CELADE do"\n' + duplicate
        ),
        encoding="utf-8",
    )
    findings = check_file(knowledge).problems
    assert findings and check_file(knowledge).loaded is not None
    bot = await start_faqbot(write_config(tmp_path, fake, knowledge={"path": str(knowledge)}))
    try:
        await bot.wait_for_line(lambda line: f"@{BOT_USERNAME}" in line)
        [reply] = await reply_to(fake, fake.message("What does ECLAC recommend?"), timeout=10)
        assert visible(reply)
    finally:
        code, output = await stop(bot.process)

    said = "".join(bot.log) + output
    warned = [line for line in said.splitlines() if "knowledge base warning" in line]
    assert len(warned) == len(findings)
    assert all(f"{knowledge}:" in line for line in warned)
    assert code == 0, output
    assert fake.errors() == []
