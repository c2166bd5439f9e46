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


class Reloader:
    """Reloads one engine from one file; reloads never overlap."""

    def __init__(self, engine: Engine, path: str | Path) -> None:
        self.engine = engine
        self.path = Path(path)
        self._lock = threading.Lock()

    def reload(self) -> ReloadOutcome:
        """Check the file and, if it loads, put it live. Safe to call from a thread.

        Only what makes answering impossible (an unreadable file, a schema
        error, a dangling id) keeps the old knowledge base; the check's
        quality findings go live with it, as warnings.
        """
        with self._lock:
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

    def signature(self) -> tuple[float, int] | None:
        """The file's modification time and size, for the watcher; None if unreadable."""
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime, stat.st_size)
