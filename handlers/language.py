"""Telling one of the bot's languages from any other string."""

from __future__ import annotations

from knowledge.schema import LANGUAGES, Language


def known_language(code: str | None) -> Language | None:
    """`code` when it is one of the bot's languages ("en", "es"), else None.

    For codes from outside (button data, the database, a command's argument):
    what comes back is checked, so the type says so.
    """
    for language in LANGUAGES:
        if code == language:
            return language
    return None
