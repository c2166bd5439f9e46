"""What the bot remembers: questions asked, feedback, language choices.

SQLite (stdlib), one file, created and migrated on start. Privacy by design:
no names or usernames are stored, only user ids hashed with a per-install
salt, and the question text in its normalised form. Old rows are pruned after
`retention_days`.

The salt is kept apart from the database, in `<database>.salt` (mode 0600):
Telegram user ids are not secret, so anyone holding both could hash a known
id and find that person's rows. The database alone (a copy for a curator, a
backup) tells nothing of who asked.

A damaged or locked database file gives a `StorageError` with a sentence a
person can act on, raised at start, not a crash loop later.

`Storage` is the database itself, synchronous: `faqbot report`, the tests,
and the one thread that touches the database for the bot. The bot uses a
`Recorder`: its writes are queued to that thread and never wait for SQLite,
question ids are handed out in memory, and the language choices a reply needs
are all kept in memory. A locked or slow database costs records (counted,
logged once per outage), never replies.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from handlers.records import Stats
from knowledge.normalise import fold, words

SCHEMA_VERSION = 4
DAY = 86400.0
T = TypeVar("T")
log = logging.getLogger(__name__)

# Each step upgrades the schema by one version; never edit a released step.
_MIGRATIONS: dict[int, str] = {
    1: """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            user_hash TEXT NOT NULL,
            language TEXT NOT NULL,
            normalised TEXT NOT NULL,
            kind TEXT NOT NULL,
            entry_id TEXT,
            closest_id TEXT,
            score REAL NOT NULL
        );
        CREATE INDEX questions_at ON questions (at);
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            user_hash TEXT NOT NULL,
            entry_id TEXT NOT NULL,
            question_id INTEGER,
            vote INTEGER NOT NULL CHECK (vote IN (-1, 1))
        );
        CREATE INDEX feedback_at ON feedback (at);
        CREATE TABLE preferences (user_hash TEXT PRIMARY KEY, language TEXT NOT NULL);
    """,
    2: """
        CREATE TABLE choices (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            question_id INTEGER NOT NULL,
            entry_id TEXT NOT NULL
        );
        CREATE TABLE reviewed (normalised TEXT PRIMARY KEY, at REAL NOT NULL, action TEXT NOT NULL);
    """,
    # A reader's vote on one answer counts once: pressing 👎 five times, or a
    # client replaying the button, was five votes. Only their newest vote stays.
    # Votes tied to no question (the answer came from a button) count once per entry.
    3: """
        DELETE FROM feedback WHERE id IN (
            SELECT id FROM (
                SELECT id, ROW_NUMBER() OVER (
                    PARTITION BY user_hash, question_id,
                        CASE WHEN question_id IS NULL THEN entry_id END
                    ORDER BY at DESC, id DESC
                ) AS newest
                FROM feedback
            ) WHERE newest > 1
        );
        CREATE UNIQUE INDEX feedback_once ON feedback (user_hash, question_id);
        CREATE UNIQUE INDEX feedback_once_unlinked ON feedback (user_hash, entry_id)
            WHERE question_id IS NULL;
    """,
    # /review and /stats aggregate in SQL: the unanswered questions grouped by
    # wording come from this index in order (no sort, no table lookups), and a
    # group's "did you mean" choices are found by question.
    4: """
        CREATE INDEX questions_unanswered ON questions (language, normalised, at, kind)
            WHERE entry_id IS NULL;
        CREATE INDEX choices_question ON choices (question_id);
    """,
}


class StorageError(Exception):
    """The database cannot be used; the message says what to do."""


@dataclass(frozen=True)
class LoggedQuestion:
    id: int
    at: float
    language: str
    normalised: str
    kind: str
    entry_id: str | None
    closest_id: str | None
    score: float


@dataclass(frozen=True)
class Wording:
    """One way a question was asked, as logged, with how often and how lately."""

    language: str
    down_voted: bool  # answered and voted down, rather than not answered
    text: str
    count: int
    latest: float

    @property
    def key(self) -> tuple[str, bool, str]:
        return (self.language, self.down_voted, self.text)


def normalise_for_log(text: str) -> str:
    """The question as stored: folded words only, at most 300 characters."""
    return " ".join(words(fold(text)))[:300]


class Storage:
    """One SQLite database; every method is a short transaction."""

    def __init__(self, path: str | Path, retention_days: int = 90, timeout: float = 2.0) -> None:
        self.path = Path(path)
        self.retention = retention_days * DAY
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # Used by one thread at a time: the one that opened it, or a Recorder's writer.
            self._db = sqlite3.connect(
                str(path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            self._salt = self._load_salt()
            # Every message needs the sender's hash and language choice: both are
            # kept in memory, for a bounded number of recent users.
            self._hashes: dict[int, str] = {}
            self._languages: dict[str, str | None] = {}
            # Take the write lock once: in WAL mode a database that another program
            # holds locked still reads fine, and would only fail on the first question.
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise StorageError(_explain(self.path, error)) from None

    # Schema ---------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path}: the database was written by a newer faqbot "
                f"(schema {version}, this one knows {SCHEMA_VERSION})"
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            try:
                self._db.executescript(
                    f"BEGIN IMMEDIATE; {_MIGRATIONS[step]}; PRAGMA user_version = {step}; COMMIT;"
                )
            except sqlite3.DatabaseError:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _load_salt(self) -> str:
        """The install's salt, from its file beside the database; created on first start.

        faqbot used to keep it in the database's `meta` table: such a salt is moved
        to the file (the users' hashes stay valid) and deleted from the database.
        """
        in_database = self._meta("salt")
        if str(self.path) == ":memory:":
            return in_database or secrets.token_hex(16)
        path = salt_path(self.path)
        if in_database is not None:
            salt = _write_salt(path, in_database, replace=True)
            self._db.execute("DELETE FROM meta WHERE key = 'salt'")
            return salt
        return _read_salt(path) or _write_salt(path, secrets.token_hex(16), replace=False)

    def user_hash(self, user_id: int) -> str:
        known = self._hashes.get(user_id)
        if known is None:
            known = hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:32]
            _remember(self._hashes, user_id, known)
        return known

    def close(self) -> None:
        self._db.close()

    def set_timeout(self, seconds: float) -> None:
        """How long a statement waits for another program's lock before it fails."""
        self._db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def rollback(self) -> None:
        """End a transaction a failed statement left open, if any."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    # Writes -----------------------------------------------------------------

    def log_question(
        self,
        user_id: int,
        question: str,
        language: str,
        kind: str,
        entry_id: str | None,
        closest_id: str | None,
        score: float,
        at: float | None = None,
        question_id: int | None = None,
    ) -> int:
        """Log a question; returns its id (`question_id` when given, else the next one)."""
        cursor = self._db.execute(
            "INSERT INTO questions (id, at, user_hash, language, normalised, kind, entry_id, "
            "closest_id, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                question_id,
                at if at is not None else time.time(),
                self.user_hash(user_id),
                language,
                normalise_for_log(question),
                kind,
                entry_id,
                closest_id,
                score,
            ),
        )
        return int(cursor.lastrowid or 0)

    def log_feedback(
        self,
        user_id: int,
        entry_id: str,
        vote: int,
        question_id: int | None = None,
        at: float | None = None,
    ) -> None:
        """A 👍/👎: one per reader and question (or entry); a new vote replaces the old one.

        `question_id` comes from button data, which a client can forge: it is
        kept only for a question this same reader asked, so nobody can put
        another person's question among the down-voted ones.
        """
        user_hash = self.user_hash(user_id)
        row = (at if at is not None else time.time(), user_hash, entry_id, 1 if vote > 0 else -1)
        with self._transaction():
            if question_id is not None and self._asked_by(question_id, user_hash):
                self._db.execute(
                    "INSERT INTO feedback (at, user_hash, entry_id, vote, question_id) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_hash, question_id) DO UPDATE "
                    "SET at = excluded.at, entry_id = excluded.entry_id, vote = excluded.vote",
                    (*row, question_id),
                )
            else:
                self._db.execute(
                    "INSERT INTO feedback (at, user_hash, entry_id, vote, question_id) "
                    "VALUES (?, ?, ?, ?, NULL) "
                    "ON CONFLICT (user_hash, entry_id) WHERE question_id IS NULL DO UPDATE "
                    "SET at = excluded.at, vote = excluded.vote",
                    row,
                )

    def _asked_by(self, question_id: int, user_hash: str) -> bool:
        found = self._db.execute(
            "SELECT 1 FROM questions WHERE id = ? AND user_hash = ?", (question_id, user_hash)
        ).fetchone()
        return found is not None

    def log_choice(
        self, user_id: int, question_id: int, entry_id: str, at: float | None = None
    ) -> bool:
        """A "did you mean" button pressed: evidence that the question means that entry.

        Like a vote's, `question_id` comes from button data that a client can
        forge, and ids are sequential: the choice is kept only when this same
        reader asked the question, so nobody can rewrite another person's
        question in /review and `faqbot report --suggest`. Returns whether it was kept.
        """
        with self._transaction():
            if not self._asked_by(question_id, self.user_hash(user_id)):
                return False
            self._db.execute(
                "INSERT INTO choices (at, question_id, entry_id) VALUES (?, ?, ?)",
                (at if at is not None else time.time(), question_id, entry_id),
            )
        return True

    def set_language(self, user_id: int, language: str) -> None:
        user_hash = self.user_hash(user_id)
        self._db.execute(
            "INSERT INTO preferences (user_hash, language) VALUES (?, ?) "
            "ON CONFLICT (user_hash) DO UPDATE SET language = excluded.language",
            (user_hash, language),
        )
        _remember(self._languages, user_hash, language)

    def mark_reviewed(self, normalised: str, action: str, at: float | None = None) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO reviewed (normalised, at, action) VALUES (?, ?, ?)",
            (normalised, at if at is not None else time.time(), action),
        )

    def prune(self, now: float | None = None) -> int:
        """Delete rows older than the retention period; returns how many went.

        `reviewed` holds question texts too, so it goes with the rest of the
        history; preferences are settings, not history, and stay.
        """
        cutoff = (now if now is not None else time.time()) - self.retention
        removed = 0
        with self._transaction():
            for table in ("questions", "feedback", "choices", "reviewed"):
                removed += self._db.execute(f"DELETE FROM {table} WHERE at < ?", (cutoff,)).rowcount
        return removed

    # Reads ------------------------------------------------------------------

    def language(self, user_id: int) -> str | None:
        user_hash = self.user_hash(user_id)
        if user_hash in self._languages:
            return self._languages[user_hash]
        row = self._db.execute(
            "SELECT language FROM preferences WHERE user_hash = ?", (user_hash,)
        ).fetchone()
        language = row[0] if row else None
        _remember(self._languages, user_hash, language)
        return language

    def question(self, question_id: int) -> LoggedQuestion | None:
        row = self._db.execute(
            "SELECT id, at, language, normalised, kind, entry_id, closest_id, score "
            "FROM questions WHERE id = ?",
            (question_id,),
        ).fetchone()
        return LoggedQuestion(*row) if row else None

    def questions_since(self, since: float) -> list[LoggedQuestion]:
        rows = self._db.execute(
            "SELECT id, at, language, normalised, kind, entry_id, closest_id, score "
            "FROM questions WHERE at >= ? ORDER BY at",
            (since,),
        ).fetchall()
        return [LoggedQuestion(*row) for row in rows]

    def feedback_since(self, since: float) -> dict[str, tuple[int, int]]:
        """entry id -> (up votes, down votes)."""
        rows = self._db.execute(
            "SELECT entry_id, SUM(vote > 0), SUM(vote < 0) FROM feedback WHERE at >= ? "
            "GROUP BY entry_id",
            (since,),
        ).fetchall()
        return {entry: (int(up), int(down)) for entry, up, down in rows}

    def down_voted_questions(self, since: float) -> list[LoggedQuestion]:
        rows = self._db.execute(
            "SELECT q.id, q.at, q.language, q.normalised, q.kind, q.entry_id, q.closest_id, "
            "q.score FROM feedback f JOIN questions q ON q.id = f.question_id "
            "WHERE f.vote < 0 AND f.at >= ?",
            (since,),
        ).fetchall()
        return [LoggedQuestion(*row) for row in rows]

    def choices_for(self, question_ids: list[int]) -> dict[int, str]:
        """question id -> the entry chosen for it (the latest choice, if several)."""
        if not question_ids:
            return {}
        marks = ",".join("?" * len(question_ids))
        rows = self._db.execute(
            f"SELECT question_id, entry_id FROM choices WHERE question_id IN ({marks}) ORDER BY id",
            question_ids,
        ).fetchall()
        return dict(rows)

    def reviewed(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT normalised FROM reviewed")}

    def next_question_id(self) -> int:
        row = self._db.execute("SELECT MAX(id) FROM questions").fetchone()
        return int(row[0] or 0) + 1

    def preferences(self) -> dict[str, str]:
        """Every saved language choice: user hash -> language."""
        return dict(self._db.execute("SELECT user_hash, language FROM preferences"))

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Several reads that see the same database (WAL: writers carry on meanwhile)."""
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def stats(self, now: float, top: int = 5) -> Stats:
        """The last day's and week's questions, counted in SQL: /stats reads no rows itself."""
        week, day = now - 7 * DAY, now - DAY
        answered = "COALESCE(entry_id, '') != ''"
        # Most asked first; among equals, the one asked first (as Counter.most_common).
        ranked = (
            "SELECT item, COUNT(*) AS n FROM ("
            "  SELECT {item} AS item, ROW_NUMBER() OVER (ORDER BY at, id) AS seq"
            "  FROM questions WHERE at >= ? AND {where}"
            ") GROUP BY item ORDER BY n DESC, MIN(seq) LIMIT ?"
        )
        with self._snapshot():
            asked_week, answered_week, asked_day, answered_day = self._db.execute(
                f"SELECT COUNT(*), COALESCE(SUM({answered}), 0), COALESCE(SUM(at >= ?), 0), "
                f"COALESCE(SUM(at >= ? AND {answered}), 0) FROM questions WHERE at >= ?",
                (day, day, week),
            ).fetchone()
            entries = self._db.execute(
                ranked.format(item="entry_id", where=answered), (week, top)
            ).fetchall()
            unanswered = self._db.execute(
                ranked.format(item="normalised", where=f"NOT {answered} AND normalised != ''"),
                (week, top),
            ).fetchall()
            votes = self.feedback_since(week)
        return Stats(
            asked_day=asked_day,
            answered_day=answered_day,
            asked_week=asked_week,
            answered_week=answered_week,
            top_entries=[(item, n) for item, n in entries],
            top_unanswered=[(item, n) for item, n in unanswered],
            votes=votes,
        )

    # Down-voted questions: voted down since `since`, whenever they were asked.
    _DOWN_IDS = (
        "SELECT question_id FROM feedback WHERE vote < 0 AND at >= ? AND question_id IS NOT NULL"
    )

    def review_wordings(self, since: float, limit: int, skip_kinds: Iterable[str]) -> list[Wording]:
        """The most asked wordings of unanswered and of down-voted questions since `since`.

        Unanswered: no entry, a kind worth reviewing, not voted down. Wordings
        already reviewed and empty ones are left out. At most `limit` of each,
        the most asked first, then the latest asked, then by text.
        """
        kinds = tuple(skip_kinds)
        marks = ",".join("?" * len(kinds)) or "NULL"
        order = (
            "GROUP BY language, normalised "
            "HAVING normalised NOT IN (SELECT normalised FROM reviewed) "
            "ORDER BY n DESC, latest DESC, normalised, language LIMIT ?"
        )
        with self._snapshot():
            unanswered = self._db.execute(
                "SELECT language, normalised, COUNT(*) AS n, MAX(at) AS latest FROM questions "
                f"WHERE entry_id IS NULL AND at >= ? AND kind NOT IN ({marks}) "
                f"AND normalised != '' AND id NOT IN ({self._DOWN_IDS}) {order}",
                (since, *kinds, since, limit),
            ).fetchall()
            down_voted = self._db.execute(
                "SELECT language, normalised, COUNT(*) AS n, MAX(at) AS latest FROM questions "
                f"WHERE id IN ({self._DOWN_IDS}) AND normalised != '' {order}",
                (since, limit),
            ).fetchall()
        return [
            Wording(language, down, text, count, latest)
            for rows, down in ((unanswered, False), (down_voted, True))
            for language, text, count, latest in rows
        ]

    def wording_ids(
        self, since: float, keys: list[tuple[str, bool, str]], skip_kinds: Iterable[str]
    ) -> dict[tuple[str, bool, str], list[int]]:
        """The ids of the questions behind each wording of `review_wordings`."""
        kinds = tuple(skip_kinds)
        marks = ",".join("?" * len(kinds)) or "NULL"
        found: dict[tuple[str, bool, str], list[int]] = {}
        with self._snapshot():
            for key in keys:
                language, down, text = key
                if down:
                    rows = self._db.execute(
                        "SELECT id FROM questions WHERE language = ? AND normalised = ? "
                        f"AND id IN ({self._DOWN_IDS})",
                        (language, text, since),
                    )
                else:
                    rows = self._db.execute(
                        "SELECT id FROM questions WHERE entry_id IS NULL AND language = ? "
                        f"AND normalised = ? AND at >= ? AND kind NOT IN ({marks}) "
                        f"AND id NOT IN ({self._DOWN_IDS})",
                        (language, text, since, *kinds, since),
                    )
                found[key] = [row[0] for row in rows]
        return found


# How long the writer waits for another program's lock before a record is lost.
WRITE_TIMEOUT = 1.0
# Records waiting for the writer; beyond this, new ones are lost (counted).
QUEUE_SIZE = 10_000
# How long closing waits for the writer to finish what is queued.
CLOSE_TIMEOUT = 30.0


@dataclass
class _Job:
    """Work for the writer thread; `reply` is set for work whose result someone waits for."""

    work: Callable[[Storage], object]
    reply: Future[object] | None = None


class Recorder:
    """The database as the bot uses it: nothing on the caller's thread waits for SQLite.

    One thread (the writer) owns the connection and does every database call,
    in order. Writes are queued and return at once: a question's id is handed
    out here, in memory, so the reply's buttons need no round trip; the
    ownership checks of votes and choices (button data can be forged) run at
    the writer, after the question they name was written. The language a
    reply needs comes from memory: every saved choice is read at start and
    kept up to date here.

    With the database locked by another program (a backup, a curator's
    sqlite3 shell) or failing, each record waits at most `WRITE_TIMEOUT` once,
    then records fail at once until one goes through again: they are counted
    in `lost`, and the outage is logged once when it starts and once when it
    ends. A database too slow to keep up fills the queue; records beyond it
    are lost the same way. Replies never wait.

    Reads (`/stats`, `/review`, `faqbot report`-like uses, tests) wait for the
    writer, which has written everything queued before them: call them from a
    worker thread (`asyncio.to_thread`), never on the event loop.
    """

    def __init__(
        self,
        path: str | Path,
        retention_days: int = 90,
        write_timeout: float = WRITE_TIMEOUT,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        # Opened here, so that a damaged or locked file is a StorageError at start.
        self._storage = Storage(path, retention_days, timeout=write_timeout)
        self.path = self._storage.path
        self._write_timeout = write_timeout
        self._next_id = self._storage.next_question_id()
        self._ids = threading.Lock()
        self._languages = self._storage.preferences()
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self._counts = threading.Lock()
        self.written = 0
        self.lost = 0
        self._down = False  # the writer's view: the last write failed
        self._lost_in_outage = 0
        self._overflowing = False  # the queue was full; cleared when it has room again
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="faqbot-storage", daemon=True)
        self._thread.start()

    # Writes: queued, never waiting -------------------------------------------

    def log_question(
        self,
        user_id: int,
        question: str,
        language: str,
        kind: str,
        entry_id: str | None,
        closest_id: str | None,
        score: float,
        at: float | None = None,
    ) -> int:
        """Queue a question for the log; returns its id at once."""
        with self._ids:
            question_id = self._next_id
            self._next_id += 1
        when = at if at is not None else time.time()
        self._write(
            lambda db: db.log_question(
                user_id, question, language, kind, entry_id, closest_id, score, when, question_id
            )
        )
        return question_id

    def log_feedback(
        self, user_id: int, entry_id: str, vote: int, question_id: int | None = None
    ) -> None:
        """Queue a 👍/👎; its question is kept only if the voter asked it (see Storage)."""
        when = time.time()
        self._write(lambda db: db.log_feedback(user_id, entry_id, vote, question_id, when))

    def log_choice(self, user_id: int, question_id: int, entry_id: str) -> bool:
        """Queue a "did you mean" choice, kept only for the presser's own question.

        Returns whether it was queued: the ownership check (`Storage.log_choice`)
        is made by the writer.
        """
        when = time.time()
        return self._write(lambda db: db.log_choice(user_id, question_id, entry_id, when))

    def set_language(self, user_id: int, language: str) -> None:
        """Remember the choice at once; its row is written in the background."""
        self._languages[self.user_hash(user_id)] = language
        self._write(lambda db: db.set_language(user_id, language))

    def mark_reviewed(self, normalised: str, action: str, at: float | None = None) -> None:
        when = at if at is not None else time.time()
        self._write(lambda db: db.mark_reviewed(normalised, action, when))

    # In memory ----------------------------------------------------------------

    def language(self, user_id: int) -> str | None:
        """The user's saved language: from memory, never from the database."""
        return self._languages.get(self.user_hash(user_id))

    def user_hash(self, user_id: int) -> str:
        return self._storage.user_hash(user_id)

    # Reads and maintenance: they wait for the writer -----------------------------

    def run(self, work: Callable[[Storage], T]) -> T:
        """Run `work` on the writer's thread, after everything queued so far; wait for it."""
        if self._closed:
            raise StorageError(f"{self.path}: the database is closed")
        reply: Future[object] = Future()
        self._queue.put(_Job(work, reply))
        return reply.result()  # type: ignore[return-value]

    def flush(self) -> None:
        """Wait until everything queued so far is written (or lost)."""
        self.run(lambda db: None)

    def prune(self, now: float | None = None) -> int:
        return self.run(lambda db: db.prune(now))

    def question(self, question_id: int) -> LoggedQuestion | None:
        return self.run(lambda db: db.question(question_id))

    def questions_since(self, since: float) -> list[LoggedQuestion]:
        return self.run(lambda db: db.questions_since(since))

    def feedback_since(self, since: float) -> dict[str, tuple[int, int]]:
        return self.run(lambda db: db.feedback_since(since))

    def down_voted_questions(self, since: float) -> list[LoggedQuestion]:
        return self.run(lambda db: db.down_voted_questions(since))

    def choices_for(self, question_ids: list[int]) -> dict[int, str]:
        return self.run(lambda db: db.choices_for(question_ids))

    def reviewed(self) -> set[str]:
        return self.run(lambda db: db.reviewed())

    def stats(self, now: float, top: int = 5) -> Stats:
        return self.run(lambda db: db.stats(now, top))

    def review_wordings(self, since: float, limit: int, skip_kinds: Iterable[str]) -> list[Wording]:
        kinds = tuple(skip_kinds)
        return self.run(lambda db: db.review_wordings(since, limit, kinds))

    def wording_ids(
        self, since: float, keys: list[tuple[str, bool, str]], skip_kinds: Iterable[str]
    ) -> dict[tuple[str, bool, str], list[int]]:
        kinds = tuple(skip_kinds)
        return self.run(lambda db: db.wording_ids(since, keys, kinds))

    def close(self) -> None:
        """Write what is queued (within `CLOSE_TIMEOUT`), then close the database."""
        if self._closed:
            return
        self._closed = True
        with suppress(queue.Full):
            self._queue.put(None, timeout=CLOSE_TIMEOUT)
        self._thread.join(CLOSE_TIMEOUT)
        if self._thread.is_alive():
            log.warning("storage: the writer did not finish in %.0f s; closing", CLOSE_TIMEOUT)
            return
        self._storage.close()
        if self.lost:
            log.warning(
                "question log: %d records written, %d lost (database unavailable or too slow)",
                self.written,
                self.lost,
            )

    # The writer -------------------------------------------------------------------

    def _write(self, work: Callable[[Storage], object]) -> bool:
        if self._closed:
            self._count_lost()
            return False
        try:
            self._queue.put_nowait(_Job(work))
        except queue.Full:
            self._count_lost()
            if not self._overflowing:
                self._overflowing = True
                log.warning(
                    "storage too slow: records are lost (counted) until it catches up (%d waiting)",
                    self._queue.maxsize,
                )
            return False
        return True

    def _count_lost(self) -> None:
        with self._counts:
            self.lost += 1

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.reply is not None:
                self._answer(job.work, job.reply)
            else:
                self._record(job.work)
            if self._overflowing and self._queue.qsize() < self._queue.maxsize // 2:
                self._overflowing = False
                log.warning("storage caught up: records are written again")

    def _answer(self, work: Callable[[Storage], object], reply: Future[object]) -> None:
        try:
            reply.set_result(work(self._storage))
        except BaseException as error:
            self._recover()
            reply.set_exception(error)

    def _record(self, work: Callable[[Storage], object]) -> None:
        try:
            work(self._storage)
        except Exception as error:  # the writer carries on, whatever one record did
            self._recover()
            self._count_lost()
            self._lost_in_outage += 1
            if not self._down:
                self._down = True
                # Records fail at once until the database is back: a queue that
                # waits a second per record would delay reads and shutdown.
                self._set_timeout(0.0)
                log.warning(
                    "storage unavailable, carrying on without it; records are lost "
                    "(counted) until it is back: %s",
                    error,
                )
            return
        with self._counts:
            self.written += 1
        if self._down:
            self._down = False
            self._set_timeout(self._write_timeout)
            log.warning(
                "storage available again; %d record(s) lost while it was not",
                self._lost_in_outage,
            )
            self._lost_in_outage = 0

    def _recover(self) -> None:
        with suppress(sqlite3.Error):
            self._storage.rollback()

    def _set_timeout(self, seconds: float) -> None:
        with suppress(sqlite3.Error):
            self._storage.set_timeout(seconds)


def salt_path(database: Path) -> Path:
    """Where the salt of the database's user hashes is kept: beside it, apart."""
    return database.with_name(database.name + ".salt")


def _read_salt(path: Path) -> str | None:
    """The salt in `path`, None when there is no such file."""
    try:
        salt = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise StorageError(f"{path}: cannot read the salt file ({error}); {_SALT_HELP}") from None
    if not salt:
        raise StorageError(f"{path}: the salt file is empty; {_SALT_HELP}")
    return salt


def _write_salt(path: Path, salt: str, replace: bool) -> str:
    """Write the salt readable by its owner only, whole or not at all; returns the salt kept.

    A new salt never replaces one already there (another faqbot, `faqbot
    report`, may have written it a moment ago): that one is kept instead.
    """
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(salt + "\n")
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, path)
            return salt
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read_salt(path) or salt
        return salt
    except OSError as error:
        raise StorageError(f"{path}: cannot write the salt file ({error.strerror})") from None
    finally:
        temporary.unlink(missing_ok=True)


_SALT_HELP = (
    "restore it from the backup of the database, or delete it to start new hashes "
    "(the stored questions can then no longer be told apart by person, and "
    "language choices are forgotten)"
)

# How many recent users' hashes and language choices are kept in memory.
REMEMBERED_USERS = 10_000


def _remember(cache: dict, key: object, value: object) -> None:
    """Store in a bounded cache: when full, start afresh (cheap, and memory stays flat)."""
    if len(cache) >= REMEMBERED_USERS:
        cache.clear()
    cache[key] = value


def _explain(path: Path, error: sqlite3.DatabaseError) -> str:
    text = str(error)
    if "locked" in text or "busy" in text:
        return f"{path}: the database is locked by another program (is another faqbot running?)"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"{path}: the file is not a usable SQLite database ({text}); "
            "move it aside and faqbot will start a new one"
        )
    return f"{path}: cannot open the database ({text})"
