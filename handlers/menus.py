"""The bot's command menus and descriptions, in English and Spanish.

Published at start and again after every successful reload, since their
texts live in the knowledge base like every other sentence the bot says.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from knowledge.engine import Engine
from knowledge.schema import COMMAND_ENTRIES, Language

log = logging.getLogger(__name__)

PUBLIC_COMMANDS = ("start", "help", *COMMAND_ENTRIES, "language")
ADMIN_COMMANDS = ("reload", "stats", "review")
# English is the default menu (no language code); Spanish clients get "es".
MENU_LANGUAGES: tuple[tuple[Language, str | None], ...] = (("en", None), ("es", "es"))


def public_menu(engine: Engine, language: Language) -> list[BotCommand]:
    return [BotCommand(c, engine.text(f"cmd_{c}", language)) for c in PUBLIC_COMMANDS]


def admin_menu(engine: Engine, language: Language) -> list[BotCommand]:
    return [
        *public_menu(engine, language),
        *(BotCommand(c, engine.text(f"admin_cmd_{c}", language)) for c in ADMIN_COMMANDS),
    ]


async def publish_menus(bot: Bot, engine: Engine, admins: frozenset[int]) -> None:
    """Menus and descriptions for everyone, plus an admin menu in each admin's chat."""
    for language, code in MENU_LANGUAGES:
        await bot.set_my_commands(public_menu(engine, language), language_code=code)
        await bot.set_my_description(engine.text("bot_description", language), language_code=code)
        await bot.set_my_short_description(
            engine.text("bot_short_description", language), language_code=code
        )
    for admin_id in sorted(admins):
        for language, code in MENU_LANGUAGES:
            try:
                await bot.set_my_commands(
                    admin_menu(engine, language),
                    scope=BotCommandScopeChat(admin_id),
                    language_code=code,
                )
            except TelegramError as error:  # the admin never opened a chat with the bot
                log.warning("could not set the admin menu for %s: %s", admin_id, error)
                break
