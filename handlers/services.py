"""What the handlers need, kept in `application.bot_data` under one key.

Handlers stay thin: they read the update, call these services, and render.
What the services are made of is stated here and in `handlers.records` as
Protocols; bot/ provides them, so handlers/ never imports bot/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import User
from telegram.ext import ContextTypes

from handlers.records import QuestionLog, ReviewQueue
from handlers.topics import RecentTopics
from knowledge.engine import Engine
from knowledge.reload import Reloader
from knowledge.schema import Language, known_language

SERVICES_KEY = "faqbot"


@dataclass(frozen=True)
class Services:
    """Everything a handler reaches beyond its update: the engine, the question log,
    the review queue, the reloads, the admins and each conversation's last topic."""

    engine: Engine
    reloader: Reloader
    records: QuestionLog
    reviews: ReviewQueue
    admins: frozenset[int] = field(default_factory=frozenset)
    # The last topic of each conversation (a chat, or one person in a group),
    # for follow-ups; in memory only, bounded in number and time.
    topics: RecentTopics = field(default_factory=lambda: RecentTopics(minutes=5))

    def is_admin(self, user: User | None) -> bool:
        return user is not None and user.id in self.admins

    def saved_language(self, user: User | None) -> Language | None:
        """The language the user chose with /language, if any."""
        if user is None:
            return None
        return known_language(self.records.language(user.id))

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
