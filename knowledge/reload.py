"""Replace the live knowledge base from its file, safely.

A reload reads and checks the file as a start does (`knowledge.check.load_checked`):
a file that loads goes live, its check's findings with it as warnings for the
admin (a knowledge base with a misrouted question still answers, and keeping
the old one would also keep the curator's fix out); only a file that does not
load (unreadable, a schema error, a dangling id) leaves the running knowledge
base in place. The swap is one reference inside the engine, so questions in
flight see the old or the new knowledge base, never a mix and never an error.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from knowledge.check import KnowledgeUnusable, load_checked
from knowledge.engine import Engine
from knowledge.loader import Problem
from knowledge.schema import Entry, KnowledgeBase


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did, for the admin who asked for it."""

    ok: bool
    problems: tuple[Problem, ...] = ()
    # Findings that did not stop the reload ("this question is answered by
    # another entry"): the new knowledge base is live, but a curator should look.
    warnings: tuple[Problem, ...] = ()
    entries: int = 0
    questions: int = 0
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


def _fingerprint(entry: Entry) -> tuple:
    return (
        entry.topic,
        entry.title,
        entry.questions,
        entry.keywords,
        entry.answer,
        entry.related,
        entry.question_words,
        entry.source,
    )


def diff(old: KnowledgeBase, new: KnowledgeBase) -> tuple[tuple[str, ...], ...]:
    """Ids added, removed and changed between two knowledge bases."""
    before = {entry.id: entry for entry in old.entries}
    after = {entry.id: entry for entry in new.entries}
    added = tuple(sorted(after.keys() - before.keys()))
    removed = tuple(sorted(before.keys() - after.keys()))
    changed = tuple(
        sorted(
            entry_id
            for entry_id in before.keys() & after.keys()
            if _fingerprint(before[entry_id]) != _fingerprint(after[entry_id])
        )
    )
    return added, removed, changed


# A file's modification time (in nanoseconds) and size: what tells the watcher it changed.
Signature = tuple[int, int]


class Reloader:
    """Reloads one engine from one file; reloads never overlap.

    It remembers the signature of the file as it last read it (at first, the
    file the engine was loaded from), so that the watcher can tell an edit
    nobody has reloaded from one that /reload, /review or SIGHUP already put
    live, and does not reload that again.
    """

    def __init__(self, engine: Engine, path: str | Path) -> None:
        self.engine = engine
        self.path = Path(path)
        self._lock = threading.Lock()
        self._read_signature = self.signature()

    @property
    def read_signature(self) -> Signature | None:
        """The file's signature when the last reload (or the start) read it."""
        return self._read_signature

    def reload(self) -> ReloadOutcome:
        """Check the file and, if it loads, put it live. Safe to call from a thread.

        Only what makes answering impossible (an unreadable file, a schema
        error, a dangling id) keeps the old knowledge base; the check's
        quality findings go live with it, as warnings.
        """
        with self._lock:
            return self._reload()

    def reload_if_changed(self) -> ReloadOutcome | None:
        """`reload`, unless the file is as the last reload read it: then None.

        The watcher's reload. A file that did not load counts as read too, so
        a broken file is reported once, not on every look, until it changes.
        """
        with self._lock:
            if self.signature() == self._read_signature:
                return None
            return self._reload()

    def _reload(self) -> ReloadOutcome:
        # Taken before reading: an edit landing during the read changes the
        # signature again, so the watcher still sees it.
        self._read_signature = self.signature()
        try:
            loaded, warnings = load_checked(self.path)
        except KnowledgeUnusable as unusable:
            return ReloadOutcome(ok=False, problems=unusable.problems)
        except Exception as error:  # a bug of ours must not cost the live knowledge base
            problem = Problem(str(self.path), 1, 1, f"the file could not be checked: {error!r}")
            return ReloadOutcome(ok=False, problems=(problem,))
        new = loaded.knowledge
        old = self.engine.swap(loaded)
        added, removed, changed = diff(old, new)
        return ReloadOutcome(
            ok=True,
            warnings=warnings,
            entries=len(new.entries),
            questions=new.question_count,
            added=added,
            removed=removed,
            changed=changed,
        )

    def signature(self) -> Signature | None:
        """The file's modification time and size, for the watcher; None if unreadable."""
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)
