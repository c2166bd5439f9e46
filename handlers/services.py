"""What the handlers need, kept in `application.bot_data` under one key.

Handlers stay thin: they read the update, call these services, and render.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from telegram import User
from telegram.ext import ContextTypes

from bot.storage import Recorder
from handlers.topics import RecentTopics
from knowledge.engine import Engine
from knowledge.reload import Reloader
from knowledge.schema import Language, known_language

SERVICES_KEY = "faqbot"
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class Services:
    engine: Engine
    reloader: Reloader
    storage: Recorder
    admins: frozenset[int] = field(default_factory=frozenset)
    # The last topic of each conversation (a chat, or one person in a group),
    # for follow-ups; in memory only, bounded in number and time.
    topics: RecentTopics = field(default_factory=lambda: RecentTopics(minutes=5))

    def is_admin(self, user: User | None) -> bool:
        return user is not None and user.id in self.admins

    def recorded(self, action: Callable[[], T], default: T) -> T:
        """Run a storage action; a database problem is logged, never the user's problem.

        Statistics are worth less than the answer: with the database locked
        or full, people still get their replies. The `Recorder`'s writes only
        queue the record (its id is handed out in memory) and its language
        lookups read memory, so nothing here waits for SQLite; a record the
        database refuses later is counted and logged by the Recorder's writer.
        """
        try:
            return action()
        except sqlite3.Error as error:
            log.warning("storage unavailable, carrying on without it: %s", error)
            return default

    def saved_language(self, user: User | None) -> Language | None:
        """The language the user chose with /language, if any."""
        if user is None:
            return None
        return known_language(self.recorded(lambda: self.storage.language(user.id), None))

    @staticmethod
    def client_language(user: User | None) -> Language:
        """The Telegram app's language, our guess when a message does not show one."""
        code = (user.language_code or "") if user else ""
        return "es" if code.lower().startswith("es") else "en"

    def language_for(self, user: User | None) -> Language:
        """The language for the bot's own texts: the saved choice, else the app's."""
        return self.saved_language(user) or self.client_language(user)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data[SERVICES_KEY]
