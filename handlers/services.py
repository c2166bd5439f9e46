"""What the handlers need, kept in `application.bot_data` under one key.

Handlers stay thin: they read the update, call these services, and render.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import Update, User
from telegram.ext import ContextTypes

from bot.storage import Storage
from knowledge.engine import Engine
from knowledge.reload import Reloader
from knowledge.schema import Language

SERVICES_KEY = "faqbot"


@dataclass
class Services:
    engine: Engine
    reloader: Reloader
    storage: Storage
    admins: frozenset[int] = field(default_factory=frozenset)

    def is_admin(self, user: User | None) -> bool:
        return user is not None and user.id in self.admins

    def saved_language(self, user: User | None) -> Language | None:
        """The language the user chose with /language, if any."""
        if user is None:
            return None
        saved = self.storage.language(user.id)
        return saved if saved in ("en", "es") else None

    @staticmethod
    def client_language(user: User | None) -> Language:
        """The Telegram app's language, our guess when a message does not show one."""
        code = (user.language_code or "") if user else ""
        return "es" if code.lower().startswith("es") else "en"

    def language_for(self, user: User | None, text: str = "") -> Language:
        """The language to greet in: the saved choice, the message's, or the client's."""
        return (
            self.saved_language(user)
            or (self.engine.language_of(text) if text else None)
            or self.client_language(user)
        )


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data[SERVICES_KEY]


def user_of(update: Update) -> User | None:
    return update.effective_user
