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
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from knowledge.normalise import fold, words

SCHEMA_VERSION = 3
DAY = 86400.0

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


def normalise_for_log(text: str) -> str:
    """The question as stored: folded words only, at most 300 characters."""
    return " ".join(words(fold(text)))[:300]


class Storage:
    """One SQLite database; every method is a short transaction."""

    def __init__(self, path: str | Path, retention_days: int = 90) -> None:
        self.path = Path(path)
        self.retention = retention_days * DAY
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=2.0, isolation_level=None)
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
    ) -> int:
        cursor = self._db.execute(
            "INSERT INTO questions (at, user_hash, language, normalised, kind, entry_id, "
            "closest_id, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
        self, user_id: int, entry_id: str, vote: int, question_id: int | None = None
    ) -> None:
        """A 👍/👎: one per reader and question (or entry); a new vote replaces the old one.

        `question_id` comes from button data, which a client can forge: it is
        kept only for a question this same reader asked, so nobody can put
        another person's question among the down-voted ones.
        """
        user_hash = self.user_hash(user_id)
        row = (time.time(), user_hash, entry_id, 1 if vote > 0 else -1)
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

    def log_choice(self, user_id: int, question_id: int, entry_id: str) -> bool:
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
                (time.time(), question_id, entry_id),
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
        if not question_ids:
            return {}
        marks = ",".join("?" * len(question_ids))
        rows = self._db.execute(
            f"SELECT question_id, entry_id FROM choices WHERE question_id IN ({marks})",
            question_ids,
        ).fetchall()
        return dict(rows)

    def reviewed(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT normalised FROM reviewed")}


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
