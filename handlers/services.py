"""What the handlers need, and how they reach it: `context.services`, typed.

Handlers stay thin: they read the update, call these services, and render.
What the services are made of is stated here and in `handlers.records` as
Protocols; bot/ provides them, so handlers/ never imports bot/.

python-telegram-bot's own idiom (`ContextTypes`, its contexttypesbot.py
example) carries them: `bot_data` is a `BotData` instead of a dict, and every
handler's `context` a `FaqContext` whose `services` mypy checks, where
`context.bot_data["faqbot"]` was `Any`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from telegram import Bot, User
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from handlers.records import QuestionLog, ReviewQueue
from handlers.topics import RecentTopics
from knowledge.answer import Answer
from knowledge.engine import Engine
from knowledge.reload import ReloadOutcome
from knowledge.schema import Language, known_language


class Reloads(Protocol):
    """Reloading the knowledge base from its file while the bot runs (bot/reloads.py)."""

    @property
    def path(self) -> Path:
        """The knowledge base file: /review writes the questions it adds there."""
        ...

    async def reload(self, bot: Bot) -> ReloadOutcome:
        """Check the file and put it live, or keep the old one; publish the menus with `bot`."""
        ...


@dataclass(frozen=True)
class Services:
    """Everything a handler reaches beyond its update: the engine, the question log,
    the review queue, the reloads, the admins and each conversation's last topic."""

    engine: Engine
    reloads: Reloads
    records: QuestionLog
    reviews: ReviewQueue
    admins: frozenset[int] = field(default_factory=frozenset)
    # The last topic of each conversation (a chat, or one person in a group),
    # for follow-ups; in memory only, bounded in number and time.
    topics: RecentTopics = field(default_factory=lambda: RecentTopics(minutes=5))

    def is_admin(self, user: User | None) -> bool:
        return user is not None and user.id in self.admins

    def answer(self, user: User | None, text: str, topic: str | None = None) -> Answer:
        """The engine's answer to a person's message, by the one language policy of
        chats and inline mode: the language they chose with /language, else the
        message's own, else that of the stored question it matched best (a name
        such as "Puebla" shows no language), else their Telegram app's (the engine
        decides the middle two, knowledge/engine.py `Engine.ask`). `topic`: the
        conversation's last."""
        return self.engine.ask(
            text,
            language=self.saved_language(user),
            fallback=self.client_language(user),
            context=topic,
        )

    def saved_language(self, user: User | None) -> Language | None:
        """The language the user chose with /language, if any."""
        if user is None:
            return None
        return known_language(self.records.language(user.id))

    @staticmethod
    def client_language(user: User | None) -> Language:
        """The Telegram app's language, our guess when neither a message nor its best
        match shows one."""
        code = (user.language_code or "") if user else ""
        return "es" if code.lower().startswith("es") else "en"

    def language_for(self, user: User | None) -> Language:
        """The language for the bot's own texts: the saved choice, else the app's."""
        return self.saved_language(user) or self.client_language(user)


class BotData:
    """`context.bot_data`: the services, set once when the application is built.

    python-telegram-bot makes it without arguments, before the services can be
    handed over: bot/app.py sets `services` right after building the application.
    """

    services: Services


class FaqContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]):
    """The `context` every handler gets: python-telegram-bot's, with the services."""

    __slots__ = ()

    @property
    def services(self) -> Services:
        return self.bot_data.services


CONTEXT_TYPES = ContextTypes(context=FaqContext, bot_data=BotData)
