"""The admin's day, end to end: edit the knowledge base, reload, read /stats, /review.

The real Application (or `faqbot run` itself) talks over real HTTP to the
strict fake Bot API; nothing of ours is mocked. The admin edits a copy of the
bundled knowledge base (`[knowledge] path`) as a text file, as a curator
does. What the bot should say is taken from its own engine and texts, before
and after the edits, so these tests check what the admin and the users see.
Each test ends with `fake.errors() == []`: no call Telegram would refuse.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import os
import re
import signal
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from telegram import BotCommand
from telegram.constants import MessageLimit
from telegram.ext import Application

from bot.cli import main as faqbot_main
from bot.config import Config
from bot.storage import Storage, normalise_for_log
from handlers import callback_data
from handlers.menus import MENU_LANGUAGES, admin_menu, public_menu
from handlers.render import render
from knowledge.answer import Answer, Kind
from knowledge.check import check_file
from knowledge.engine import Engine
from tests.auxil.admin_scenarios import (
    NEW_ENTRY,
    NEW_ENTRY_ID,
    NEW_ENTRY_QUESTIONS,
    comment_lines,
    copy_knowledge,
    entry_block,
    entry_start,
    line_of,
    many_new_entries,
    replace_once,
    reported_problems,
    revise_answer,
    revise_answer_in_file,
)
from tests.auxil.bot_process import ROOT, BotProcess, start_faqbot, write_config
from tests.auxil.conversation import (
    ADMIN_ID,
    SEND_METHODS,
    Call,
    ask,
    button,
    buttons,
    engine_of,
    press,
    reply_to,
    running,
    services_of,
    squash,
    visible,
    wait_until,
)
from tests.auxil.fake_bot_api import (
    BOT_USERNAME,
    DEFAULT_GROUP_ID,
    DEFAULT_USER_ID,
    FakeBotAPI,
)

# A mark put in front of an edited answer: no digits, so both languages still agree.
MARKER = "REVISED"
EVENT_QUESTION = "When is the ECLAC session?"
OTHER_USER = 100_200_301
GROUP_ID = DEFAULT_GROUP_ID
# In scope but worded so that the bot is not sure; the engine says which one still is.
UNSURE_CANDIDATES = (
    "how do I reach the press office",
    "office phone",
    "whre is the meting",
    "wat forums",
    "forum stuff",
    "is there free parking at the venue",
)
# Nothing in the press release answers these.
OUT_OF_SCOPE = ("Who won the Football World Cup?", "where can I buy tickets")
BURST_USERS = 50
BURST_PER_USER = 10
FIRST_BURST_USER = 830_000_001


# ---------------------------------------------------------------------- helpers


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    return copy_knowledge(tmp_path)


@pytest.fixture
def admin_config(
    fake: FakeBotAPI, make_config: Callable[..., Config], tmp_path: Path, knowledge_copy: Path
) -> Config:
    # Telegram's one message a second per chat would only slow these tests down.
    return make_config(
        tmp_path,
        fake,
        telegram={"per_chat_per_second": 1_000},
        knowledge={"path": str(knowledge_copy)},
    )


@pytest.fixture
async def admin_bot(fake: FakeBotAPI, admin_config: Config) -> AsyncIterator[Application]:
    """The real bot on the editable copy; the admin has opened a chat with it."""
    async with running(admin_config, fake) as app:
        yield app


async def admin_says(fake: FakeBotAPI, text: str, count: int = 1) -> list[Call]:
    return await ask(fake, text, count, user_id=ADMIN_ID, first_name="Admin")


def replies_expected(answer: Answer) -> int:
    """An answer with the press contact comes as a contact card, then the text."""
    return 2 if answer.contact_card else 1


def title_of(engine: Engine, entry_id: str, language: str = "en") -> str:
    opened = engine.open(entry_id, language)
    assert opened is not None and opened.title
    return opened.title


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def reload_ok_line(engine: Engine, entries: int, questions: int) -> str:
    return engine.text("reload_ok", "en").format(entries=entries, questions=questions)


def stats_line(engine: Engine, period_key: str, asked: int, answered: int) -> str:
    rate = f"{100 * answered / asked:.0f}%"
    return engine.text("stats_period", "en").format(
        period=engine.text(period_key, "en"), asked=asked, answered=answered, rate=rate
    )


def quoted_question(call_or_text: Call | str) -> str:
    """The question a /review message shows between “ and ”."""
    text = call_or_text if isinstance(call_or_text, str) else visible(call_or_text)
    match = re.search("“(.*)”", text)
    assert match, text
    return match.group(1)


def current_message(fake: FakeBotAPI, chat_id: int, message_id: int) -> dict[str, Any]:
    """A bot message as it is now, after any edits."""
    [message] = [m for m in fake.bot_messages(chat_id) if m["message_id"] == message_id]
    return message


def review_heading_start(engine: Engine, number: int, total: int) -> str:
    """The start of a /review message's heading, up to the count."""
    template = engine.text("review_heading", "en")
    return template.split("{count}")[0].format(number=number, total=total)


async def review_shows(
    fake: FakeBotAPI, engine: Engine, review: Call, number: int, total: int
) -> dict[str, Any]:
    """The /review message once it has been edited to show item `number`."""
    heading = review_heading_start(engine, number, total)

    def edited() -> dict[str, Any] | None:
        message = current_message(fake, ADMIN_ID, review.result["message_id"])
        return message if message["text"].startswith(heading) else None

    return await wait_until(edited, f"the review message at {heading!r}", fake)


def message_buttons(message: dict[str, Any]) -> dict[str, str]:
    """label -> callback data of a message's inline keyboard."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row if "callback_data" in b}


def reloads_logged(caplog: pytest.LogCaptureFixture) -> int:
    """How many reloads put a knowledge base live, by the log line each one writes."""
    return sum("knowledge base reloaded" in r.getMessage() for r in caplog.records)


def as_sent(menu: list[BotCommand]) -> list[dict[str, str]]:
    """A menu as setMyCommands carries it."""
    return [{"command": c.command, "description": c.description} for c in menu]


def contact_description(call: Call) -> str | None:
    """What a setMyCommands call says /contact does."""
    found = [c["description"] for c in call.params["commands"] if c["command"] == "contact"]
    return found[0] if found else None


# ------------------------------------------------------------- 1. edit and reload


async def test_admin_edits_an_answer_adds_an_entry_and_reload_puts_them_live(
    admin_bot, fake, knowledge_copy
):
    engine = engine_of(admin_bot)
    before = engine.knowledge
    old_event = engine.ask(EVENT_QUESTION)
    assert old_event.entry_id == "event" and MARKER not in old_event.text
    assert engine.knowledge.entry(NEW_ENTRY_ID) is None
    edited = revise_answer(knowledge_copy.read_text(encoding="utf-8"), "event", MARKER)
    knowledge_copy.write_text(edited + NEW_ENTRY, encoding="utf-8")

    [reply] = await admin_says(fake, "/reload")

    new_questions = sum(len(questions) for questions in NEW_ENTRY_QUESTIONS.values())
    assert visible(reply).splitlines() == [
        reload_ok_line(engine, len(before.entries) + 1, before.question_count + new_questions),
        f"+ {NEW_ENTRY_ID}",
        "~ event",
    ]
    [event] = await ask(fake, EVENT_QUESTION)
    assert visible(event).startswith(title_of(engine, "event"))
    assert squash(f"{MARKER} {old_event.text}") in squash(visible(event))
    for language, marker in (("en", "Acronyms in the press release"), ("es", "Siglas")):
        [new] = await ask(fake, NEW_ENTRY_QUESTIONS[language][0])
        assert visible(new).startswith(title_of(engine, NEW_ENTRY_ID, language))
        assert marker in visible(new)
    assert fake.errors() == []


async def test_admin_rewords_a_menu_text_and_reload_publishes_the_new_menu(
    admin_bot, fake, knowledge_copy
):
    text = knowledge_copy.read_text(encoding="utf-8")
    old = 'en: "Press contact for interviews"'
    assert old in text  # the English description of /contact in the bundled file
    knowledge_copy.write_text(
        text.replace(old, 'en: "Phones and e-mail of the press office"'), encoding="utf-8"
    )
    published_before = len(fake.calls_to("setMyCommands"))

    await admin_says(fake, "/reload")

    def republished() -> list[Call]:
        later = fake.calls_to("setMyCommands")[published_before:]
        return [c for c in later if "scope" not in c.params and "language_code" not in c.params]

    [public_en] = await wait_until(republished, "the English menu published again", fake)
    assert contact_description(public_en) == "Phones and e-mail of the press office"
    assert fake.errors() == []


async def test_adding_150_entries_gets_a_reload_reply_that_fits_one_message(
    admin_bot, fake, knowledge_copy
):
    engine = engine_of(admin_bot)
    before = engine.knowledge
    added, ids = many_new_entries(150)
    knowledge_copy.write_text(knowledge_copy.read_text(encoding="utf-8") + added, encoding="utf-8")

    [reply] = await admin_says(fake, "/reload")

    heading, added_line = visible(reply).splitlines()
    assert heading == reload_ok_line(
        engine, len(before.entries) + len(ids), before.question_count + 2 * len(ids)
    )
    listed = re.fullmatch(r"\+ (.+) … \+(\d+)", added_line)
    assert listed, added_line
    shown = listed.group(1).split(", ")
    assert shown == sorted(ids)[: len(shown)]
    assert len(shown) + int(listed.group(2)) == len(ids)
    assert len(visible(reply)) <= MessageLimit.MAX_TEXT_LENGTH
    assert engine.knowledge.entry(ids[-1]) is not None
    assert fake.errors() == []


# ------------------------------------------------------ 2. a broken file stays out


def break_yaml_syntax(text: str) -> tuple[str, set[int], str]:
    """A key indented under a plain value: the YAML parser stops on that line."""
    broken = replace_once(text, "    topic: contact\n", "    topic: contact\n      title: oops\n")
    return broken, {line_of(broken, "      title: oops\n")}, "not valid YAML"


def break_related_id(text: str) -> tuple[str, set[int], str]:
    """A follow-up button that would open an entry that does not exist."""
    old = "    related: [more-information, event]\n"
    new = "    related: [more-information, no-such-entry]\n"
    broken = replace_once(text, old, new, entry_start(text, "contact"))
    return broken, {line_of(broken, new)}, "'no-such-entry' does not exist"


def drop_spanish_answer(text: str) -> tuple[str, set[int], str]:
    """The contact entry's answer loses its `es:` block."""
    start = entry_start(text, "contact")
    spanish = text.index("      es: |\n", text.index("    answer:\n", start))
    broken = text[:spanish] + text[text.index("    related:", spanish) :]
    answer = line_of(broken, "    answer:\n", start)
    # The `answer:` key, or the first line of the mapping that lacks `es`.
    return broken, {answer, answer + 1}, "'es'"


@pytest.mark.parametrize(
    "breakage",
    [break_yaml_syntax, break_related_id, drop_spanish_answer],
    ids=["invalid-yaml", "dangling-related-id", "missing-spanish-answer"],
)
async def test_a_broken_file_is_reported_by_line_and_the_old_answers_stay(
    admin_bot, fake, knowledge_copy, breakage
):
    engine = engine_of(admin_bot)
    before = engine.knowledge
    old_event = engine.ask(EVENT_QUESTION)
    [served_before] = await ask(fake, EVENT_QUESTION)
    assert squash(old_event.text) in squash(visible(served_before))
    # The edit a curator meant to make, plus the slip that breaks the file.
    revised = revise_answer(knowledge_copy.read_text(encoding="utf-8"), "event", MARKER)
    broken, lines, message = breakage(revised)
    knowledge_copy.write_text(broken, encoding="utf-8")

    [reply] = await admin_says(fake, "/reload")

    shown = visible(reply)
    assert shown.splitlines()[0] == engine.text("reload_failed", "en")
    [problem] = reported_problems(shown)
    assert problem.path == str(knowledge_copy)
    assert problem.line in lines, (problem, broken.splitlines()[problem.line - 1])
    assert message in problem.message
    assert engine.knowledge is before
    [served_after] = await ask(fake, EVENT_QUESTION)
    assert visible(served_after) == visible(served_before)
    assert MARKER not in visible(served_after)
    assert fake.errors() == []


async def test_routing_findings_go_live_as_warnings_in_a_reply_that_fits_one_message(
    admin_bot, fake, knowledge_copy, caplog
):
    engine = engine_of(admin_bot)
    before = engine.knowledge
    # The same long question in every entry: each one is answered by another entry,
    # and each finding quotes it twice. Answering is still possible: a quality
    # finding never keeps the bot on the old file.
    question = "Who is the press contact for interviews, and which phone or e-mail should I use"
    text = knowledge_copy.read_text(encoding="utf-8")
    broken = text.replace(
        "    questions:\n      en:\n", f'    questions:\n      en:\n        - "{question}"\n'
    )
    knowledge_copy.write_text(broken, encoding="utf-8")
    total = len(check_file(knowledge_copy).problems)

    [reply] = await admin_says(fake, "/reload")

    lines = visible(reply).splitlines()
    live = engine.knowledge
    assert live is not before
    assert lines[0] == engine.text("reload_ok", "en").format(
        entries=len(live.entries), questions=live.question_count
    )
    assert engine.text("reload_warnings", "en") in lines
    shown = reported_problems(visible(reply))
    assert shown and all(problem.path == str(knowledge_copy) for problem in shown)
    assert lines[-1] == f"… +{total - len(shown)}"
    warned = [r for r in caplog.records if "knowledge base warning" in r.getMessage()]
    assert len(warned) == total
    assert error_records(caplog) == []
    assert fake.errors() == []
    [answered] = await ask(fake, EVENT_QUESTION)
    assert "Montevideo" in visible(answered)


# ------------------------------------------------------------ 3. not an admin


async def test_non_admin_is_refused_politely_and_nothing_is_reloaded(
    admin_bot, fake, knowledge_copy, caplog
):
    engine = engine_of(admin_bot)
    before = engine.knowledge
    [served_before] = await ask(fake, EVENT_QUESTION)
    edited = revise_answer(knowledge_copy.read_text(encoding="utf-8"), "event", MARKER)
    knowledge_copy.write_text(edited + NEW_ENTRY, encoding="utf-8")

    for command in ("/reload", "/stats", "/review"):
        [refusal] = await ask(fake, command)
        assert visible(refusal) == engine.text("admin_only", "en"), command
    [refusal] = await ask(fake, "/reload", user_id=OTHER_USER, language_code="es")
    assert visible(refusal) == engine.text("admin_only", "es")

    # The refusals are logged, with user ids only hashed, as the README promises.
    storage = services_of(admin_bot).records
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 4
    assert sum(storage.user_hash(DEFAULT_USER_ID) in line for line in refused) == 3
    assert storage.user_hash(OTHER_USER) in refused[-1]
    for record in caplog.records:
        for user in (DEFAULT_USER_ID, OTHER_USER):
            assert str(user) not in record.getMessage()
    assert engine.knowledge is before
    [served_after] = await ask(fake, EVENT_QUESTION)
    assert visible(served_after) == visible(served_before)
    assert MARKER not in visible(served_after)
    assert fake.errors() == []


async def test_a_refusal_text_with_html_characters_reaches_a_non_admin_as_written(
    fake, admin_config, knowledge_copy
):
    # A curator's sentence with characters that mean something in HTML.
    refusal = "Sorry <friend>, admins & curators only."
    text = knowledge_copy.read_text(encoding="utf-8")
    english = '    en: "Sorry, only the bot\'s administrators can use that command."\n'
    text = replace_once(text, english, f'    en: "{refusal}"\n', text.index("\n  admin_only:\n"))
    knowledge_copy.write_text(text, encoding="utf-8")
    async with running(admin_config, fake) as app:
        assert engine_of(app).text("admin_only", "en") == refusal

        [reply] = await ask(fake, "/stats")
        await ask(fake, EVENT_QUESTION)  # a message with buttons, to press a forged one on
        forged = await press(fake, "r|ignore|0|", check_buttons=False)

    assert visible(reply) == refusal
    assert forged.notice == refusal  # a notice is plain text, not HTML
    assert fake.errors() == []


# ------------------------------------------------------- 4. reload under a burst


def one_message_questions(engine: Engine, count: int) -> list[tuple[str, str]]:
    """(entry id, question) pairs each answered confidently in exactly one message."""
    picked = []
    for entry in engine.knowledge.entries:
        question = entry.questions["en"][0]
        answer = engine.ask(question)
        confident = answer.kind is Kind.ANSWER and answer.entry_id == entry.id
        if confident and answer.contact is None and len(render(answer)) == 1:
            picked.append((entry.id, question))
    assert len(picked) >= count
    return picked[:count]


def answers_by_chat(fake: FakeBotAPI, start: int) -> defaultdict[int, list[tuple[int, Call]]]:
    """chat id -> (index in fake.calls, call) of each message sent there, from `start` on."""
    by_chat: defaultdict[int, list[tuple[int, Call]]] = defaultdict(list)
    for index in range(start, len(fake.calls)):
        call = fake.calls[index]
        if call.ok and call.method in SEND_METHODS:
            by_chat[int(call.params["chat_id"])].append((index, call))
    return by_chat


async def test_reload_in_the_middle_of_a_burst_loses_no_question_and_switches_cleanly(
    fake, make_config, tmp_path, knowledge_copy, caplog
):
    limits = {"overall_per_second": 100_000, "per_chat_per_second": 1_000}
    config = make_config(tmp_path, fake, telegram=limits, knowledge={"path": str(knowledge_copy)})
    users = range(FIRST_BURST_USER, FIRST_BURST_USER + BURST_USERS)
    async with running(config, fake) as app:
        engine = engine_of(app)
        # Each user asks about ten entries in turn, so every answer names its question.
        picks = one_message_questions(engine, BURST_PER_USER)
        old_text = {entry_id: engine.ask(question).text for entry_id, question in picks}
        edited = knowledge_copy.read_text(encoding="utf-8")
        for entry_id, _ in picks:
            edited = revise_answer(edited, entry_id, MARKER)
        knowledge_copy.write_text(edited, encoding="utf-8")
        start = len(fake.calls)

        def answered() -> int:
            by_chat = answers_by_chat(fake, start)
            return sum(len(by_chat[user]) for user in users)

        def push_round(number: int) -> None:
            for user in users:
                fake.message(picks[number][1], user_id=user, first_name="Reader")

        for number in range(4):  # 200 questions
            push_round(number)
        await wait_until(lambda: answered() >= 25, "the burst under way", fake)
        reload_update = fake.message("/reload", user_id=ADMIN_ID, first_name="Admin")
        assert answered() < 4 * BURST_USERS, "the burst must still be going on"
        for number in range(4, 8):  # 200 more while the reload runs
            push_round(number)
        [reload_reply] = await reply_to(fake, reload_update, timeout=20)
        for number in range(8, BURST_PER_USER):  # the last 100 after the reply
            push_round(number)
        total = BURST_USERS * BURST_PER_USER
        await wait_until(lambda: answered() >= total, f"{total} answers", fake, timeout=30)

    changed = ", ".join(sorted(entry_id for entry_id, _ in picks))
    assert visible(reload_reply).splitlines()[1:] == [f"~ {changed}"]
    reload_at = next(i for i, call in enumerate(fake.calls) if call is reload_reply)
    by_chat = answers_by_chat(fake, start)
    old_answers = new_answers = required_new = 0
    for user in users:
        indexed = by_chat[user]
        # One answer per question, in the order asked: the titles say which question.
        assert len(indexed) == BURST_PER_USER, user
        kinds = []
        for (_, call), (entry_id, _) in zip(indexed, picks, strict=True):
            shown = squash(visible(call))
            assert shown.startswith(title_of(engine, entry_id)), (user, entry_id, shown)
            new = squash(f"{MARKER} {old_text[entry_id]}") in shown
            assert new or squash(old_text[entry_id]) in shown, (user, entry_id, shown)
            kinds.append(new)
        assert kinds == sorted(kinds), f"user {user} got an old answer after a new one"
        # A chat's updates run in order: once one of its answers reached Telegram after
        # the reload's reply, its next question was answered after the swap.
        after_reply = [k for k, (index, _) in enumerate(indexed) if index > reload_at]
        for k in after_reply[1:]:
            assert kinds[k], f"user {user}'s answer {k} came after the reload but is old"
        required_new += max(0, len(after_reply) - 1)
        old_answers += kinds.count(False)
        new_answers += kinds.count(True)
    assert old_answers >= 25 and new_answers >= required_new > 0
    assert old_answers + new_answers == BURST_USERS * BURST_PER_USER
    assert error_records(caplog) == []
    assert fake.errors() == []


# ------------------------------------------------------------- 5. SIGHUP, watch


async def reload_by_sighup_then_stop(bot: BotProcess, fake: FakeBotAPI) -> tuple[Call, int, str]:
    """`systemctl reload`, the reload's log line, the event's answer, then SIGTERM:
    the answer after the reload, the exit code and everything the bot printed."""
    bot.process.send_signal(signal.SIGHUP)
    await bot.wait_for_line(lambda line: "knowledge base reloaded" in line)
    [after] = await reply_to(fake, fake.message(EVENT_QUESTION), timeout=10)
    bot.process.send_signal(signal.SIGTERM)
    code, output = await bot.finished()
    return after, code, output


async def test_sighup_reloads_the_running_process_and_sigterm_stops_it(
    fake, tmp_path, knowledge_copy
):
    config = write_config(tmp_path, fake, knowledge={"path": str(knowledge_copy)})
    bot = await start_faqbot(config)
    try:
        await bot.wait_for_line(lambda line: f"@{BOT_USERNAME}" in line)
        [before] = await reply_to(fake, fake.message(EVENT_QUESTION), timeout=10)
        assert MARKER not in visible(before)
        revise_answer_in_file(knowledge_copy, "event", MARKER)

        after, code, output = await reload_by_sighup_then_stop(bot, fake)
    finally:
        bot.kill()

    title = visible(before).splitlines()[0]
    assert visible(after).splitlines()[0] == title
    assert f"{MARKER} ECLAC holds" in visible(after)
    assert squash(visible(after)) == squash(visible(before)).replace(title, f"{title} {MARKER}", 1)
    assert code == 0, output
    assert "Traceback" not in output
    assert fake.token.split(":", 1)[1] not in output
    assert fake.errors() == []


async def test_a_reload_asked_for_while_the_bot_starts_is_carried_out_not_fatal(
    fake, tmp_path, knowledge_copy
):
    """`systemctl reload` during start-up (the token check waits on a slow Telegram):
    SIGHUP's default action would end the process, which systemd counts as a clean
    exit and does not restart. The bot comes up and reloads once instead."""
    config = write_config(tmp_path, fake, knowledge={"path": str(knowledge_copy)})
    fake.delay("getMe", 2.0)
    bot = await start_faqbot(config)
    try:
        await wait_until(lambda: fake.calls_to("getMe"), "the token check", fake)
        revise_answer_in_file(knowledge_copy, "event", MARKER)
        after, code, output = await reload_by_sighup_then_stop(bot, fake)
    finally:
        bot.kill()

    assert f"{MARKER} ECLAC holds" in visible(after)
    assert code == 0, output
    assert "Traceback" not in output
    assert fake.errors() == []


async def test_a_sighup_reload_is_kept_by_the_bot_until_it_is_done(
    admin_bot, fake, knowledge_copy, caplog
):
    """A task nobody holds may be garbage-collected mid-run: the reload SIGHUP starts
    is kept by the application while it runs (here, while the menus are published
    to a slow Telegram), and let go once it is done."""
    caplog.set_level(logging.INFO)
    revise_answer_in_file(knowledge_copy, "event", MARKER)
    menus_before = len(fake.calls_to("setMyCommands"))
    fake.delay("setMyCommands", 1.0)

    os.kill(os.getpid(), signal.SIGHUP)
    await wait_until(
        lambda: any("knowledge base reloaded" in r.getMessage() for r in caplog.records),
        "the reload's log line",
        fake,
    )

    # The new answers are live; the menus are still on their way to Telegram.
    assert f"{MARKER} ECLAC holds" in engine_of(admin_bot).open("event", "en").text
    reloads = services_of(admin_bot).reloads
    [reload] = reloads.started
    assert not reload.done()
    await wait_until(lambda: not reloads.started, "the reload to finish", fake)
    assert reload.done() and not reload.cancelled() and reload.exception() is None
    assert len(fake.calls_to("setMyCommands")) > menus_before
    assert error_records(caplog) == []
    assert fake.errors() == []


async def ask_until(
    fake: FakeBotAPI, question: str, wanted: Callable[[str], bool], timeout: float = 5.0
) -> Call:
    """Ask again and again (each time waiting for the reply) until a reply is `wanted`."""
    replies: list[Call] = []

    async def one_more() -> Call | None:
        [reply] = await ask(fake, question)
        replies.append(reply)
        return reply if wanted(visible(reply)) else None

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = await one_more()
        if found is not None:
            return found
    raise TimeoutError(f"no wanted reply in {timeout}s; the last: {visible(replies[-1])!r}")


async def test_watched_file_is_reloaded_when_it_changes_without_any_command(
    fake, make_config, tmp_path, knowledge_copy
):
    config = make_config(
        tmp_path,
        fake,
        telegram={"per_chat_per_second": 1_000},
        knowledge={"path": str(knowledge_copy), "watch": True, "watch_interval": 0.2},
    )
    async with running(config, fake) as app:
        engine = engine_of(app)
        [before] = await ask(fake, EVENT_QUESTION)
        assert MARKER not in visible(before)
        revise_answer_in_file(knowledge_copy, "event", MARKER)

        after = await ask_until(fake, EVENT_QUESTION, lambda shown: MARKER in shown)

        assert visible(after).startswith(title_of(engine, "event"))
        assert f"{MARKER} ECLAC holds" in visible(after)
    assert fake.errors() == []


async def test_two_reloads_at_once_publish_menus_in_turn_and_leave_the_live_ones(
    admin_bot, fake, knowledge_copy, caplog
):
    """A /reload and, while it publishes its menus to a slow Telegram, a SIGHUP reload
    of a newer edit: the second waits for the first to finish, so each publishes its
    menus whole, in order, and the menus Telegram keeps are the live knowledge base's.
    Overlapping, the first run's English menu (read before the second swap, held up by
    Telegram) landed after the second's, and the menu said the older wording."""
    caplog.set_level(logging.INFO)
    engine = engine_of(admin_bot)
    text = knowledge_copy.read_text(encoding="utf-8")
    old = 'en: "Press contact for interviews"'
    assert old in text
    first, second = "Phones of the press office", "E-mail of the press office"
    knowledge_copy.write_text(text.replace(old, f'en: "{first}"'), encoding="utf-8")
    published_before = len(fake.calls_to("setMyCommands"))
    fake.delay("setMyCommands", 3.0)  # the first menu sent after this waits 3 s

    reload_update = fake.message("/reload", user_id=ADMIN_ID, first_name="Admin")
    await wait_until(lambda: reloads_logged(caplog) == 1, "the /reload to swap", fake)
    knowledge_copy.write_text(text.replace(old, f'en: "{second}"'), encoding="utf-8")
    os.kill(os.getpid(), signal.SIGHUP)
    await reply_to(fake, reload_update, timeout=20)
    reloads = services_of(admin_bot).reloads
    await wait_until(
        lambda: reloads_logged(caplog) == 2 and not reloads.started, "the SIGHUP reload", fake, 20
    )

    published = fake.calls_to("setMyCommands")[published_before:]
    english = [call for call in published if "language_code" not in call.params]
    per_run = len(english) // 2  # the public menu and the admin's
    assert per_run == 1 + len(services_of(admin_bot).admins)
    wordings = [contact_description(call) for call in english]
    assert wordings == [first] * per_run + [second] * per_run
    assert engine.text("cmd_contact", "en") == second
    # What Telegram keeps is each menu's last call: the live knowledge base's menus.
    kept = {
        (repr(call.params.get("scope")), call.params.get("language_code")): call.params["commands"]
        for call in published
    }
    for language, code in MENU_LANGUAGES:
        assert kept[(repr(None), code)] == as_sent(public_menu(engine, language))
        [admin_scope] = [scope for scope, lang in kept if scope != repr(None) and lang == code]
        assert kept[(admin_scope, code)] == as_sent(admin_menu(engine, language))
    assert error_records(caplog) == []
    assert fake.errors() == []


async def test_a_review_addition_is_reloaded_once_with_the_watcher_on(
    fake, make_config, tmp_path, knowledge_copy, caplog
):
    """/review's addition changes the file and reloads it; the watcher, which sees the
    file as that reload read it, does not reload it again (nor publish the menus
    again). It reloaded it a second time when it compared with the file as it
    itself had last seen it."""
    caplog.set_level(logging.INFO)
    interval = 0.1
    config = make_config(
        tmp_path,
        fake,
        telegram={"per_chat_per_second": 1_000},
        knowledge={"path": str(knowledge_copy), "watch": True, "watch_interval": interval},
    )
    async with running(config, fake) as app:
        engine = engine_of(app)
        question, _ = unsure_question(engine)
        await ask(fake, question)
        [review] = await admin_says(fake, "/review")
        menus_before = len(fake.calls_to("setMyCommands"))

        add = add_button(review)
        await press(fake, add["callback_data"], review.result, replies=1, user_id=ADMIN_ID)
        await asyncio.sleep(20 * interval)  # the watcher looks at the file many times

        assert reloads_logged(caplog) == 1
        menus_per_publish = 2 * (1 + len(config.telegram.admins))
        assert len(fake.calls_to("setMyCommands")) - menus_before == menus_per_publish
        assert engine.ask(question).kind is Kind.ANSWER
    assert fake.errors() == []


# ------------------------------------------------------------------ 6. /stats


async def test_stats_count_the_days_questions_top_unanswered_and_feedback(
    admin_bot, fake, tmp_path, knowledge_copy, capsys
):
    engine = engine_of(admin_bot)
    answered = (EVENT_QUESTION, "What does ECLAC recommend?", "What is CELADE?")
    # The same question twice, in other case and punctuation: one line in /stats.
    unanswered = (OUT_OF_SCOPE[0], OUT_OF_SCOPE[0].lower().rstrip("?"), OUT_OF_SCOPE[1])
    for question in answered:
        assert engine.ask(question).kind is Kind.ANSWER, question
    for question in unanswered:
        assert engine.ask(question).kind is not Kind.ANSWER, question
    replies = {}
    for question in (*answered, *unanswered):
        [replies[question]] = await ask(fake, question)
    down = button(replies["What does ECLAC recommend?"], "👎")
    pressed = await press(fake, down["callback_data"], replies["What does ECLAC recommend?"].result)
    assert pressed.notice == engine.text("feedback_thanks", "en")

    [stats] = await admin_says(fake, "/stats")

    lines = visible(stats).splitlines()
    asked = len(answered) + len(unanswered)
    assert stats_line(engine, "stats_day", asked, len(answered)) in lines
    assert stats_line(engine, "stats_week", asked, len(answered)) in lines
    top = lines.index(engine.text("stats_top_unanswered", "en"))
    normalised = "who won the football world cup"
    assert normalise_for_log(OUT_OF_SCOPE[0]) == normalised
    assert lines[top + 1] == f"2× {normalised}"
    assert f"1× {normalise_for_log(OUT_OF_SCOPE[1])}" in lines[top + 2 :]
    feedback = lines.index(engine.text("stats_feedback", "en"))
    assert lines[feedback + 1 :] == ["recommendations: 👍 0 👎 1"]

    # `faqbot report` reads the same database, next to the running bot.
    config = write_config(tmp_path, None, knowledge={"path": str(knowledge_copy)})
    capsys.readouterr()
    assert faqbot_main(["--config", str(config), "report", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_question = {row["question"]: row for row in rows}
    assert by_question[normalised]["count"] == "2"
    assert by_question[normalised]["reason"] == "unanswered"
    assert by_question[normalised]["language"] == "en"
    assert rows[0]["question"] == normalised, "the most asked comes first"
    assert fake.errors() == []


async def test_a_readers_five_down_votes_count_once_and_a_forged_vote_marks_no_ones_question(
    admin_bot, fake
):
    engine = engine_of(admin_bot)
    voter_question = "What does ECLAC recommend?"
    # Someone else asks first: their question id is in the buttons of their answer.
    [theirs] = await ask(fake, EVENT_QUESTION, user_id=OTHER_USER)
    their_vote = callback_data.decode(button(theirs, "👎")["callback_data"])
    assert isinstance(their_vote, callback_data.Vote) and their_vote.question_id
    [mine] = await ask(fake, voter_question)
    down = button(mine, "👎")["callback_data"]

    for _ in range(5):
        pressed = await press(fake, down, mine.result)
        assert pressed.notice == engine.text("feedback_thanks", "en")
    # A client can send any button data: a 👎 carrying the other person's question.
    forged = callback_data.encode(
        callback_data.Vote(their_vote.entry_id, "en", False, their_vote.question_id)
    )
    await press(fake, forged, mine.result, check_buttons=False)

    [stats] = await admin_says(fake, "/stats")
    lines = visible(stats).splitlines()
    feedback = lines.index(engine.text("stats_feedback", "en"))
    assert sorted(lines[feedback + 1 :]) == [
        f"{their_vote.entry_id}: 👍 0 👎 1",  # the vote on the entry still counts
        "recommendations: 👍 0 👎 1",
    ]
    # Only the voter's own question is under review, not the one named in the forgery;
    # the reason is worded in the admin's language, like the rest of the sentence.
    [review] = await ask(fake, "/review", user_id=ADMIN_ID, language_code="es")
    heading = engine.text("review_heading", "es").format(
        number=1, total=1, count=1, reason=engine.text("review_reason_down_voted", "es")
    )
    assert visible(review).splitlines()[0] == heading
    assert quoted_question(review) == normalise_for_log(voter_question)
    assert fake.errors() == []


async def test_stats_list_the_ten_most_voted_entries_and_count_the_rest(admin_bot, fake):
    engine = engine_of(admin_bot)
    picks = one_message_questions(engine, 12)
    for _, question in picks:
        [reply] = await ask(fake, question)
        await press(fake, button(reply, "👎")["callback_data"], reply.result)
    # Someone else likes the last one: with two votes, it comes first.
    most_voted, question = picks[-1]
    [reply] = await ask(fake, question, user_id=OTHER_USER)
    await press(fake, button(reply, "👍")["callback_data"], reply.result, user_id=OTHER_USER)

    [stats] = await admin_says(fake, "/stats")

    lines = visible(stats).splitlines()
    listed = lines[lines.index(engine.text("stats_feedback", "en")) + 1 :]
    once = sorted(entry_id for entry_id, _ in picks[:-1])
    assert listed == [
        f"{most_voted}: 👍 1 👎 1",
        *(f"{entry_id}: 👍 0 👎 1" for entry_id in once[:9]),
        f"… +{len(once) - 9}",
    ]
    assert fake.errors() == []


# ------------------------------------------------------------------ 7. /review


def unsure_question(engine: Engine) -> tuple[str, Answer]:
    """A question in scope that the bot is not sure about, with suggestions."""
    for question in UNSURE_CANDIDATES:
        answer = engine.ask(question)
        if answer.kind is not Kind.ANSWER and answer.suggestions:
            return question, answer
    raise AssertionError(f"every one of {UNSURE_CANDIDATES} is answered or unmatched now")


async def test_review_adds_a_question_to_the_file_and_ignores_another(
    admin_bot, fake, knowledge_copy
):
    engine = engine_of(admin_bot)
    question, unsure = unsure_question(engine)
    for other in OUT_OF_SCOPE:
        assert engine.ask(other).kind is not Kind.ANSWER, other
    original = knowledge_copy.read_text(encoding="utf-8")
    # Two people ask it; the first then picks an entry from "did you mean".
    [first] = await ask(fake, question)
    await ask(fake, question, user_id=OTHER_USER)
    choice = buttons(first)[0]
    payload = callback_data.decode(choice["callback_data"])
    assert isinstance(payload, callback_data.Choose)
    entry_id = payload.entry_id
    assert entry_id == unsure.suggestions[0].entry_id
    await press(fake, choice["callback_data"], first.result, replies=1)
    for other in OUT_OF_SCOPE:
        await ask(fake, other, user_id=OTHER_USER)

    [review] = await admin_says(fake, "/review")

    text = engine.text
    shown = visible(review)
    reason = text("review_reason_chosen", "en").format(entry=entry_id)
    heading = text("review_heading", "en").format(number=1, total=3, count=2, reason=reason)
    assert shown.splitlines()[0] == heading
    wording = normalise_for_log(question)
    assert quoted_question(shown) == wording
    closest = text("review_closest", "en").split("{score}")[0].format(entry=entry_id)
    assert closest in shown
    add = button(review, f"➕ {title_of(engine, entry_id)}")
    assert add["callback_data"] == callback_data.encode(callback_data.Review("add", 0, entry_id))

    # Someone else's forged review button: refused, nothing written.
    forged = await press(fake, "r|add|0|contact", user_id=OTHER_USER, check_buttons=False)
    assert forged.notice == text("admin_only", "en")
    assert knowledge_copy.read_text(encoding="utf-8") == original

    before = engine.knowledge
    added = await press(fake, add["callback_data"], review.result, replies=1, user_id=ADMIN_ID)

    assert added.notice == text("review_added", "en")
    assert visible(added.sent[0]).splitlines() == [
        reload_ok_line(engine, len(before.entries), before.question_count + 1),
        f"~ {entry_id}",
    ]
    # One line more, in that entry's English questions; every comment still there.
    written = knowledge_copy.read_text(encoding="utf-8")
    new_lines = [line for line in written.splitlines() if line not in original.splitlines()]
    assert [line.strip() for line in new_lines] == [f'- "{wording}"']
    assert written.replace(new_lines[0] + "\n", "", 1) == original
    assert new_lines[0] in entry_block(written, entry_id)
    assert comment_lines(written) == comment_lines(original)
    [stored] = [e for e in yaml.safe_load(written)["entries"] if e["id"] == entry_id]
    assert stored["questions"]["en"][-1] == wording
    # Asked again, the question now gets that entry's answer straight away.
    answer = engine.ask(question)
    assert answer.kind is Kind.ANSWER and answer.entry_id == entry_id
    again = await ask(fake, question, replies_expected(answer), user_id=OTHER_USER)
    assert visible(again[-1]).startswith(title_of(engine, entry_id))

    # The review message moved on to the next item; ignore it.
    message = await review_shows(fake, engine, review, number=2, total=3)
    ignored = quoted_question(message["text"])
    assert ignored in {normalise_for_log(other) for other in OUT_OF_SCOPE}
    ignore = message_buttons(message)[text("review_ignore", "en")]
    pressed = await press(fake, ignore, message, user_id=ADMIN_ID)
    assert pressed.notice == text("review_ignored", "en")
    message = await review_shows(fake, engine, review, number=3, total=3)
    remaining = quoted_question(message["text"])
    assert remaining != ignored and remaining != wording

    [next_review] = await admin_says(fake, "/review")

    shown = visible(next_review)
    assert shown.startswith(review_heading_start(engine, number=1, total=1))
    assert quoted_question(shown) == remaining
    assert ignored not in shown and wording not in shown
    assert fake.errors() == []


def add_button(call: Call) -> dict[str, Any]:
    """The ➕ button of a /review message: add the question to the closest entry."""
    [found] = [b for b in buttons(call) if b["text"].startswith("➕")]
    return found


async def test_each_review_messages_buttons_act_on_that_messages_own_list(
    admin_bot, fake, knowledge_copy
):
    engine = engine_of(admin_bot)
    text = engine.text
    first_question, second_question = "whre is the meting", "forum stuff"
    for question in (first_question, second_question):
        assert engine.ask(question).suggestions, question
    await ask(fake, first_question)
    [first_review] = await admin_says(fake, "/review")
    assert quoted_question(first_review) == normalise_for_log(first_question)
    # Later three people ask something else: the next /review starts with that.
    for user in range(3):
        await ask(fake, second_question, user_id=OTHER_USER + user)
    [second_review] = await admin_says(fake, "/review")
    assert quoted_question(second_review) == normalise_for_log(second_question)
    original = knowledge_copy.read_text(encoding="utf-8")

    add = add_button(first_review)
    added = await press(
        fake, add["callback_data"], first_review.result, replies=1, user_id=ADMIN_ID
    )

    assert added.notice == text("review_added", "en")
    payload = callback_data.decode(add["callback_data"])
    assert isinstance(payload, callback_data.Review)
    written = knowledge_copy.read_text(encoding="utf-8")
    new_lines = [line for line in written.splitlines() if line not in original.splitlines()]
    assert [line.strip() for line in new_lines] == [f'- "{normalise_for_log(first_question)}"']
    assert new_lines[0] in entry_block(written, payload.entry_id)

    def first_review_done() -> bool:
        message = current_message(fake, ADMIN_ID, first_review.result["message_id"])
        return message["text"] == text("review_done", "en")

    await wait_until(first_review_done, "the first review to be done", fake)
    # Only the five latest lists are kept: an older message's buttons expire.
    for _ in range(5):
        await admin_says(fake, "/review")
    ignore = button(second_review, text("review_ignore", "en"))
    pressed = await press(fake, ignore["callback_data"], second_review.result, user_id=ADMIN_ID)
    assert pressed.notice == text("review_expired", "en")
    assert knowledge_copy.read_text(encoding="utf-8") == written
    assert services_of(admin_bot).records.reviewed() == {normalise_for_log(first_question)}
    assert fake.errors() == []


def private_only(engine: Engine, language: str) -> str:
    """What an admin view says in a group: it works in the private chat only."""
    return engine.text("admin_private_only", language)


@pytest.mark.parametrize("language", ["en", "es"])
async def test_stats_and_review_asked_in_a_group_show_the_group_nothing_people_asked(
    admin_bot, fake, knowledge_copy, language
):
    """Everyone in a group reads the bot's replies: the questions people asked, answered
    or not, are for the admin's private chat only."""
    engine = engine_of(admin_bot)
    asked = normalise_for_log(OUT_OF_SCOPE[0])
    await ask(fake, OUT_OF_SCOPE[0], user_id=OTHER_USER)
    [private_review] = await ask(fake, "/review", user_id=ADMIN_ID, language_code=language)
    assert quoted_question(private_review) == asked

    def in_the_group(command: str) -> dict[str, Any]:
        return fake.message(command, ADMIN_ID, GROUP_ID, language_code=language, chat_type="group")

    [stats] = await reply_to(fake, in_the_group("/stats"))
    [review] = await reply_to(fake, in_the_group("/review"))

    for reply in (stats, review):
        assert visible(reply) == private_only(engine, language)
        assert asked not in visible(reply)
        assert "reply_markup" not in reply.params
    # A review message's button pressed in the group (forwarded, or forged) edits nothing.
    edits = len(fake.calls_to("editMessageText"))
    ignore = button(private_review, engine.text("review_ignore", language))["callback_data"]
    [chatter] = await reply_to(fake, in_the_group(f"@{BOT_USERNAME} hello"))
    pressed = await press(
        fake, ignore, chatter.result, user_id=ADMIN_ID, language_code=language, check_buttons=False
    )
    assert pressed.notice == private_only(engine, language)
    await reply_to(fake, in_the_group(f"@{BOT_USERNAME} thanks"))
    assert len(fake.calls_to("editMessageText")) == edits
    assert services_of(admin_bot).records.reviewed() == set()
    # In the private chat both still answer in full.
    [private_stats] = await ask(fake, "/stats", user_id=ADMIN_ID, language_code=language)
    assert f"1× {asked}" in visible(private_stats).splitlines()
    assert fake.errors() == []


async def test_a_review_button_on_a_message_telegram_no_longer_shows_expires_and_writes_nothing(
    admin_bot, fake, knowledge_copy
):
    engine = engine_of(admin_bot)
    question, _ = unsure_question(engine)
    await ask(fake, question)
    [review] = await admin_says(fake, "/review")
    original = knowledge_copy.read_text(encoding="utf-8")
    edits = len(fake.calls_to("editMessageText"))

    # Telegram sends a message it no longer gives the bot (deleted, older than 48 hours)
    # as an InaccessibleMessage: the chat, the id and date 0, nothing else.
    query_id = "inaccessible-review-press"
    fake.push_update(
        {
            "callback_query": {
                "id": query_id,
                "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Admin"},
                "message": {
                    "chat": review.result["chat"],
                    "message_id": review.result["message_id"],
                    "date": 0,
                },
                "chat_instance": "42",
                "data": add_button(review)["callback_data"],
            }
        }
    )
    [answer] = await fake.wait_for(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id
    )
    # The next message in the chat is answered, so the press was handled by then.
    await admin_says(fake, "/stats")

    assert answer.params.get("text") == engine.text("review_expired", "en")
    assert knowledge_copy.read_text(encoding="utf-8") == original
    assert len(fake.calls_to("editMessageText")) == edits
    assert services_of(admin_bot).records.reviewed() == set()
    assert fake.errors() == []


# ------------------------------------------------------- 8. storage and restarts


async def test_questions_and_language_choice_survive_a_restart(fake, admin_config):
    async with running(admin_config, fake) as app:
        engine = engine_of(app)
        await ask(fake, EVENT_QUESTION)
        await ask(fake, "What is CELADE?")
        await ask(fake, OUT_OF_SCOPE[0])
        [done] = await ask(fake, "/language es", user_id=OTHER_USER)
        assert visible(done) == engine.text("language_set", "es")

    async with running(admin_config, fake) as app:
        engine = engine_of(app)
        [stats] = await admin_says(fake, "/stats")
        assert stats_line(engine, "stats_day", 3, 2) in visible(stats).splitlines()
        [answer] = await ask(fake, "What does ECLAC recommend?", user_id=OTHER_USER)
        assert visible(answer).startswith(title_of(engine, "recommendations", "es"))
    assert fake.errors() == []


@pytest.mark.parametrize("damage", ["junk", "locked"])
async def test_unusable_database_stops_faqbot_run_with_one_clear_line(fake, tmp_path, damage):
    database = tmp_path / "faqbot.sqlite3"
    locker = None
    if damage == "junk":
        database.write_bytes(b"this is not a database\x00\xff" * 200)
    else:
        Storage(database).close()
        locker = sqlite3.connect(database)
        locker.execute("BEGIN EXCLUSIVE")
    config = write_config(tmp_path, fake, storage={"path": str(database)})
    try:
        bot = await start_faqbot(config)
        code, output = await bot.finished()
    finally:
        if locker is not None:
            locker.rollback()
            locker.close()

    assert code == 2, output
    assert "Traceback" not in output
    [line] = output.strip().splitlines()
    assert line.startswith("faqbot: ") and str(database) in line
    assert ("locked" if damage == "locked" else "not a usable SQLite database") in line
    # Exit code 2 is the one systemd does not restart: no crash loop.
    unit = (ROOT / "deploy" / "faqbot.service").read_text(encoding="utf-8")
    assert "RestartPreventExitStatus=2" in unit.splitlines()
    assert fake.calls == [], "it stops before talking to Telegram"
    assert fake.errors() == []
