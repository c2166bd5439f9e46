"""The bot's memory: created on start, kept across restarts, private, pruned, and
clear about a database it cannot use."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
import struct
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.storage import _MIGRATIONS, DAY, SCHEMA_VERSION, Storage, StorageError

USER_ID = 918273645


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "faqbot.sqlite3"


@pytest.fixture
def storage(db_path: Path) -> Iterator[Storage]:
    store = Storage(db_path)
    yield store
    store.close()


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def test_first_start_creates_the_database_and_its_folder(db_path: Path) -> None:
    Storage(db_path).close()

    assert db_path.is_file()
    assert _user_version(db_path) == SCHEMA_VERSION
    assert {"meta", "questions", "feedback", "preferences", "choices", "reviewed"} <= _tables(
        db_path
    )


def test_database_of_an_older_version_is_migrated_and_keeps_its_rows(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:
        db.executescript(_MIGRATIONS[1])
        db.execute(
            "INSERT INTO questions (at, user_hash, language, normalised, kind, entry_id, "
            "closest_id, score) VALUES (?, 'x', 'en', 'who is the contact', 'answer', "
            "'contact', NULL, 90)",
            (time.time(),),
        )
        db.execute("PRAGMA user_version = 1")
    db.close()

    storage = Storage(db_path)
    try:
        [old] = storage.questions_since(0)
        assert old.normalised == "who is the contact"
        asked = storage.log_question(USER_ID, "contact?", "en", "did_you_mean", None, "contact", 55)
        assert storage.log_choice(USER_ID, asked, "contact")  # the table version 2 added
        assert storage.choices_for([asked]) == {asked: "contact"}
    finally:
        storage.close()
    assert _user_version(db_path) == SCHEMA_VERSION


def test_database_from_a_newer_faqbot_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()

    with pytest.raises(StorageError, match="newer faqbot"):
        Storage(db_path)


def test_questions_feedback_and_choices_survive_a_restart(db_path: Path) -> None:
    before = Storage(db_path)
    question_id = before.log_question(
        USER_ID, "¿Quién es el CONTACTO?", "es", "did_you_mean", None, "contact", 55.0
    )
    before.log_feedback(USER_ID, "contact", -1, question_id)
    before.log_choice(USER_ID, question_id, "contact")
    before.close()

    after = Storage(db_path)
    try:
        logged = after.question(question_id)
        assert logged is not None
        assert logged.normalised == "quien es el contacto"  # folded, punctuation gone
        assert (logged.kind, logged.closest_id, logged.score) == ("did_you_mean", "contact", 55.0)
        assert after.feedback_since(0) == {"contact": (0, 1)}
        assert after.choices_for([question_id]) == {question_id: "contact"}
        assert [q.id for q in after.down_voted_questions(0)] == [question_id]
    finally:
        after.close()


def test_spanish_speaker_keeps_their_language_after_a_restart(db_path: Path) -> None:
    before = Storage(db_path)
    before.set_language(USER_ID, "en")
    before.set_language(USER_ID, "es")  # changed their mind
    before.close()

    after = Storage(db_path)
    try:
        assert after.language(USER_ID) == "es"
        assert after.language(USER_ID + 1) is None
    finally:
        after.close()


def test_user_ids_are_stored_only_as_salted_hashes(db_path: Path) -> None:
    storage = Storage(db_path)
    storage.log_question(USER_ID, "who is the contact", "en", "answer", "contact", None, 90.0)
    storage.log_feedback(USER_ID, "contact", 1)
    storage.set_language(USER_ID, "es")
    hashed = storage.user_hash(USER_ID)
    storage.close()

    stored = b"".join(path.read_bytes() for path in db_path.parent.iterdir())
    assert str(USER_ID).encode() not in stored
    assert struct.pack(">q", USER_ID) not in stored  # nor as an SQLite integer
    assert hashed.encode() in stored
    other = Storage(db_path.with_name("other.sqlite3"))
    try:
        assert other.user_hash(USER_ID) != hashed  # each install has its own salt
    finally:
        other.close()


def test_a_readers_repeated_down_votes_count_once_and_a_changed_vote_replaces_it(
    storage: Storage,
) -> None:
    question_id = storage.log_question(
        USER_ID, "who is the contact", "en", "answer", "contact", None, 90.0
    )
    for _ in range(5):
        storage.log_feedback(USER_ID, "contact", -1, question_id)

    assert storage.feedback_since(0) == {"contact": (0, 1)}
    assert [q.id for q in storage.down_voted_questions(0)] == [question_id]

    storage.log_feedback(USER_ID, "contact", 1, question_id)  # changed their mind

    assert storage.feedback_since(0) == {"contact": (1, 0)}
    assert storage.down_voted_questions(0) == []


def test_a_vote_carrying_someone_elses_question_is_kept_without_that_question(
    storage: Storage,
) -> None:
    theirs = storage.log_question(
        USER_ID, "who is the contact", "en", "answer", "contact", None, 90
    )
    for forged in (theirs, theirs + 1000):  # another reader's question, one that does not exist
        for _ in range(3):
            storage.log_feedback(USER_ID + 1, "contact", -1, forged)

    assert storage.down_voted_questions(0) == []
    # The vote on the entry still counts, once.
    assert storage.feedback_since(0) == {"contact": (0, 1)}


def test_migration_keeps_only_the_newest_vote_of_each_reader_on_each_question(
    db_path: Path,
) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:
        db.executescript(_MIGRATIONS[1] + _MIGRATIONS[2] + "PRAGMA user_version = 2;")
        db.executemany(
            "INSERT INTO feedback (at, user_hash, entry_id, question_id, vote) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (1.0, "a", "contact", 7, -1),
                (3.0, "a", "contact", 7, 1),  # the newest of a's votes on question 7
                (2.0, "a", "contact", 7, -1),
                (1.0, "b", "contact", 7, -1),  # another reader: a vote of their own
                (1.0, "a", "event", 8, -1),  # another question
                (1.0, "a", "event", None, -1),
                (2.0, "a", "event", None, 1),  # the newest of a's unlinked votes on event
            ],
        )
    db.close()

    Storage(db_path).close()

    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT at, user_hash, entry_id, question_id, vote FROM feedback ORDER BY id"
        ).fetchall()
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "INSERT INTO feedback (at, user_hash, entry_id, question_id, vote) "
                "VALUES (4.0, 'a', 'contact', 7, -1)"
            )
    db.close()
    assert rows == [
        (3.0, "a", "contact", 7, 1),
        (1.0, "b", "contact", 7, -1),
        (1.0, "a", "event", 8, -1),
        (2.0, "a", "event", None, 1),
    ]
    assert _user_version(db_path) == SCHEMA_VERSION


def test_prune_removes_only_rows_older_than_the_retention(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "faqbot.sqlite3", retention_days=30)
    now = time.time()
    try:
        old = storage.log_question(
            1, "old question", "en", "fallback", None, None, 0.0, now - 31 * DAY
        )
        recent = storage.log_question(
            1, "recent question", "en", "fallback", None, None, 0.0, now - 29 * DAY
        )
        storage.set_language(1, "es")
        # Review decisions hold question texts too: they are history like the questions.
        storage.mark_reviewed("old question", "ignore", now - 31 * DAY)
        storage.mark_reviewed("recent question", "ignore", now - 29 * DAY)

        assert storage.prune(now) == 2

        assert storage.question(old) is None
        assert storage.question(recent) is not None
        assert storage.language(1) == "es"  # preferences are not history
        assert storage.reviewed() == {"recent question"}
    finally:
        storage.close()


def test_corrupted_database_file_names_the_file_and_what_to_do(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"\x00\xffthis is not a database\n" * 200)

    with pytest.raises(StorageError) as raised:
        Storage(db_path)

    message = str(raised.value)
    assert str(db_path) in message
    assert "not a usable SQLite database" in message
    assert "move it aside" in message


def _hold_exclusive_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def _open_in_a_thread(path: Path) -> None:
    """Storage(path) in a worker, so a hang would fail the test instead of freezing it."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(lambda: Storage(path).close()).result(timeout=60)
    finally:
        pool.shutdown(wait=False)


def test_database_locked_by_another_program_fails_at_start(tmp_path: Path) -> None:
    path = tmp_path / "faqbot.sqlite3"
    holder = _hold_exclusive_lock(path)  # another program created it and holds it
    try:
        with pytest.raises(StorageError, match="locked by another program"):
            _open_in_a_thread(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_locked_faqbot_database_fails_at_start_not_on_the_first_question(db_path: Path) -> None:
    Storage(db_path).close()  # the bot's own database, in WAL mode
    holder = _hold_exclusive_lock(db_path)
    try:
        with pytest.raises(StorageError, match="locked by another program") as raised:
            _open_in_a_thread(db_path)
        assert str(db_path) in str(raised.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _open_in_a_thread(db_path)  # usable again once the other program lets go


def test_a_choice_counts_only_for_the_readers_own_question(db_path: Path) -> None:
    """Question ids are sequential and button data can be forged: a choice naming
    someone else's question is not kept."""
    storage = Storage(db_path)
    try:
        theirs = storage.log_question(
            USER_ID, "whre is the meting", "en", "did_you_mean", None, "event", 50
        )
        assert not storage.log_choice(USER_ID + 1, theirs, "contact")
        assert storage.choices_for([theirs]) == {}
        assert storage.log_choice(USER_ID, theirs, "event")
        assert storage.choices_for([theirs]) == {theirs: "event"}
    finally:
        storage.close()


def test_the_salt_is_kept_apart_from_the_database_in_a_private_file(db_path: Path) -> None:
    storage = Storage(db_path)
    hashed = storage.user_hash(USER_ID)
    storage.close()

    salt_file = db_path.with_name(db_path.name + ".salt")
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchall() == []
    db.close()
    again = Storage(db_path)
    try:
        assert again.user_hash(USER_ID) == hashed, "the same salt after a restart"
    finally:
        again.close()


def test_an_install_that_kept_its_salt_in_the_database_moves_it_out_and_keeps_its_users(
    db_path: Path,
) -> None:
    """Databases written before the salt moved out hold it in `meta`: the users' hashes
    (their language choices, their votes) must still match after the upgrade."""
    db_path.parent.mkdir(parents=True)
    old_salt = "0123456789abcdef0123456789abcdef"
    old_hash = hashlib.sha256(f"{old_salt}:{USER_ID}".encode()).hexdigest()[:32]
    with sqlite3.connect(db_path) as db:
        db.executescript(
            "".join(_MIGRATIONS[step] for step in sorted(_MIGRATIONS))
            + f"PRAGMA user_version = {SCHEMA_VERSION};"
        )
        db.execute("INSERT INTO meta (key, value) VALUES ('salt', ?)", (old_salt,))
        db.execute("INSERT INTO preferences (user_hash, language) VALUES (?, 'es')", (old_hash,))
    db.close()

    storage = Storage(db_path)
    try:
        assert storage.language(USER_ID) == "es"
        assert storage.user_hash(USER_ID) == old_hash
    finally:
        storage.close()
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchall() == []
    db.close()
    salt_file = db_path.with_name(db_path.name + ".salt")
    assert salt_file.read_text(encoding="utf-8").strip() == old_salt
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600


def test_an_unreadable_salt_file_names_the_file_and_what_to_do(db_path: Path) -> None:
    Storage(db_path).close()
    salt_file = db_path.with_name(db_path.name + ".salt")
    salt_file.write_text("", encoding="utf-8")

    with pytest.raises(StorageError) as raised:
        Storage(db_path)

    assert str(salt_file) in str(raised.value)
    assert "backup" in str(raised.value)


def test_stats_are_counted_in_sql_as_they_were_counted_row_by_row(storage: Storage) -> None:
    """/stats counts in SQL now: the same figures as counting the week's rows in Python,
    ties between equally asked items going to the one asked first, as Counter does."""
    now = time.time()
    asked = [  # (entry or None, question, days ago); equal times make the ties
        ("event", "where", 0.5),
        ("contact", "who", 0.5),
        ("contact", "who again", 3),
        ("event", "where again", 3),
        (None, "visa for chile", 2),
        (None, "hotels", 0.2),
        (None, "visa for chile", 6),
        (None, "too old", 8),
        (None, "?!", 1),
    ]
    for user, (entry, text, days) in enumerate(asked):
        storage.log_question(user, text, "en", "answer", entry, None, 50.0, now - days * DAY)
    storage.log_feedback(1, "contact", -1)

    stats = storage.stats(now)

    week = storage.questions_since(now - 7 * DAY)
    day = [q for q in week if q.at >= now - DAY]
    assert (stats.asked_day, stats.answered_day) == (len(day), sum(1 for q in day if q.entry_id))
    assert (stats.asked_week, stats.answered_week) == (5 + 3, 4)
    assert stats.top_entries == Counter(q.entry_id for q in week if q.entry_id).most_common(5)
    # Asked first: three days ago, at the very time of an event question logged after it.
    assert stats.top_entries[0][0] == "contact"
    assert stats.top_unanswered == [("visa for chile", 2), ("hotels", 1)]
    assert stats.votes == {"contact": (0, 1)}
