"""The bot's records go through one writer: a locked or slow database costs records, not replies.

`Recorder` is what the running bot holds as `services.storage`. These tests
assert behaviour, never timings: every question is answered while another
program holds the database, the records it could not write are counted and
logged once per outage, and the writer carries on once the database is back.
The database is locked the way another program locks it: a second sqlite3
connection on the file holds `BEGIN EXCLUSIVE`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage import Recorder, Storage
from tests.auxil.conversation import press, reply_to, services_of, visible, wait_until
from tests.auxil.fake_bot_api import Call, FakeBotAPI
from tests.test_resilience import database_locked

USER = 918273645
QUESTION = "When is the ECLAC session?"
UNSURE = "forum stuff"  # answered with "did you mean" buttons that carry the question id


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    opened = Recorder(tmp_path / "faqbot.sqlite3", write_timeout=0.05)
    yield opened
    opened.close()


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.storage" and "storage unavailable" in r.getMessage()
    ]


def log_one(recorder: Recorder, user: int = USER, text: str = "who is the contact") -> int:
    return recorder.log_question(user, text, "en", "answer", "contact", None, 90.0)


# ------------------------------------------------------------------ the writer alone


def test_with_the_database_locked_records_are_counted_lost_and_logged_once(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.storage")
    with database_locked(recorder.path):
        ids = [log_one(recorder, USER + n) for n in range(50)]
        recorder.flush()
        # Reads still work in WAL mode: nothing was written.
        assert recorder.questions_since(0) == []

    assert ids == list(range(ids[0], ids[0] + 50)), "ids are handed out at once, in order"
    assert recorder.lost == 50
    assert recorder.written == 0
    assert len(outage_lines(caplog)) == 1, "one line per outage, not one per record"

    # The writer keeps going once the other program lets go.
    after = log_one(recorder, USER, "what does eclac recommend")
    recorder.flush()
    assert [q.id for q in recorder.questions_since(0)] == [after]
    assert after > ids[-1], "an id handed out for a lost record is not given again"
    assert (recorder.written, recorder.lost) == (1, 50)
    back = [r.getMessage() for r in caplog.records if "available again" in r.getMessage()]
    assert back == ["storage available again; 50 record(s) lost while it was not"]

    # A second outage is logged again, once.
    with database_locked(recorder.path):
        log_one(recorder)
        log_one(recorder)
        recorder.flush()
    assert len(outage_lines(caplog)) == 2
    assert recorder.lost == 52


def test_a_database_too_slow_to_keep_up_loses_the_records_beyond_the_queue(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(tmp_path / "faqbot.sqlite3", queue_size=10)
    busy, release = threading.Event(), threading.Event()

    def slow(db: Storage) -> None:  # a write that takes as long as the test wants
        busy.set()
        release.wait()

    stuck = threading.Thread(target=recorder.run, args=(slow,))
    stuck.start()
    try:
        assert busy.wait(10)
        ids = [log_one(recorder, USER + n) for n in range(25)]  # never waits
        assert len(set(ids)) == 25
        assert recorder.lost == 15
        too_slow = [r for r in caplog.records if "too slow" in r.getMessage()]
        assert len(too_slow) == 1
    finally:
        release.set()
        stuck.join()
    recorder.flush()
    assert recorder.written == 10
    assert len(recorder.questions_since(0)) == 10
    recorder.close()


def test_question_ids_continue_after_a_restart_and_votes_and_choices_check_the_asker(
    tmp_path: Path,
) -> None:
    path = tmp_path / "faqbot.sqlite3"
    before = Recorder(path)
    first = log_one(before)
    before.close()

    after = Recorder(path)
    try:
        theirs = after.log_question(
            USER, "whre is the meting", "en", "did_you_mean", None, "event", 50
        )
        assert theirs == first + 1
        # Button data can be forged: another reader's choice and vote do not touch it.
        assert after.log_choice(USER + 1, theirs, "contact")  # queued
        after.log_feedback(USER + 1, "event", -1, theirs)
        assert after.choices_for([theirs]) == {}
        assert after.down_voted_questions(0) == []
        # The asker's own do.
        after.log_choice(USER, theirs, "event")
        after.log_feedback(USER, "event", -1, theirs)
        assert after.choices_for([theirs]) == {theirs: "event"}
        assert [q.id for q in after.down_voted_questions(0)] == [theirs]
    finally:
        after.close()


def test_a_saved_language_is_read_from_memory_even_with_the_database_locked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "faqbot.sqlite3"
    before = Recorder(path)
    before.set_language(USER, "es")
    before.close()

    after = Recorder(path, write_timeout=0.05)
    try:
        with database_locked(path):
            assert after.language(USER) == "es", "every saved choice is read at start"
            after.set_language(USER + 1, "en")
            assert after.language(USER + 1) == "en", "a new choice counts at once"
            after.flush()
        assert after.lost == 1  # its row could not be written meanwhile
        assert after.language(USER + 2) is None
    finally:
        after.close()


def test_closing_writes_what_is_queued(tmp_path: Path) -> None:
    path = tmp_path / "faqbot.sqlite3"
    recorder = Recorder(path)
    ids = [log_one(recorder, USER + n) for n in range(100)]
    recorder.close()

    reopened = Storage(path)
    try:
        assert [q.id for q in reopened.questions_since(0)] == ids
    finally:
        reopened.close()


# ------------------------------------------------------------------- the running bot


async def test_every_question_is_answered_while_the_database_is_locked_and_the_records_are_lost(
    running_bot, caplog: pytest.LogCaptureFixture
) -> None:
    app, fake = running_bot
    storage = services_of(app).records
    fake_: FakeBotAPI = fake
    storage.flush()
    lost_before = storage.lost
    users = range(5_000, 5_040)

    with database_locked(storage.path):
        updates = [fake_.message(QUESTION, user_id=user) for user in users]
        replies = [await reply_to(fake_, update, timeout=20) for update in updates]
        # An unsure question's buttons carry its id, handed out without the database.
        [unsure] = await reply_to(fake_, fake_.message(UNSURE, user_id=6_000))
        await wait_until(lambda: outage_lines(caplog), "the outage logged", fake_, 20)
        await wait_until(
            lambda: storage.lost - lost_before == len(users) + 1, "every record lost", fake_, 20
        )

    assert all(visible(reply) for [reply] in replies), "every question answered"
    assert len(outage_lines(caplog)) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    # Afterwards the writer carries on: a question and a choice on its button are kept.
    [again] = await reply_to(fake_, fake_.message(UNSURE, user_id=6_001))
    data = first_choice(again)
    await press(fake_, data, again.result, user_id=6_001, replies=1)
    question_id = int(data.split("|")[2])
    await wait_until(lambda: storage.choices_for([question_id]), "the choice kept", fake_)
    assert storage.question(question_id) is not None
    assert storage.lost - lost_before == len(users) + 1
    # The reply given while the database was locked had its buttons too, with a fresh id.
    assert int(first_choice(unsure).split("|")[2]) < question_id
    assert fake_.errors() == []


def first_choice(call: Call) -> str:
    """The callback data of a reply's first "did you mean" button."""
    for row in call.params["reply_markup"]["inline_keyboard"]:
        for item in row:
            if str(item.get("callback_data", "")).startswith("c|"):
                return str(item["callback_data"])
    raise AssertionError(f"no 'did you mean' button in {call.params}")
