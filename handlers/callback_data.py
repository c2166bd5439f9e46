"""What the buttons carry: small, typed, and checked on the way back.

Telegram gives a button at most 64 bytes of callback data and a client can
send any bytes it likes, so every payload is parsed strictly; anything that
does not parse is `None`, and the handler answers it with a short notice.
Format: fields joined by "|", the first naming the action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram.constants import InlineKeyboardButtonLimit

from knowledge.schema import Language, known_language

_ENTRY = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
# Only the digits `encode` writes: ASCII, no leading zeros ("²" and "٣" are digits to Python).
_NUMBER = re.compile(r"0|[1-9][0-9]{0,11}")
_MAX_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA


@dataclass(frozen=True)
class Open:
    """Show an entry (topic, follow-up, list item)."""

    entry_id: str
    language: Language


@dataclass(frozen=True)
class Choose:
    """A "did you mean" choice: show the entry and record the choice for the curator."""

    entry_id: str
    language: Language
    question_id: int


@dataclass(frozen=True)
class Vote:
    """👍 or 👎 on an answer."""

    entry_id: str
    language: Language
    up: bool
    question_id: int


@dataclass(frozen=True)
class Review:
    """An admin's decision on a question under review: add it, pick another entry, ignore it."""

    action: str
    item: int
    entry_id: str = ""


Payload = Open | Choose | Vote | Review
_REVIEW_ACTIONS = ("add", "pick", "ignore")


def encode(payload: Payload) -> str:
    match payload:
        case Open(entry_id, language):
            data = f"o|{language}|{entry_id}"
        case Choose(entry_id, language, question_id):
            data = f"c|{language}|{question_id}|{entry_id}"
        case Vote(entry_id, language, up, question_id):
            data = f"v|{language}|{'+' if up else '-'}|{question_id}|{entry_id}"
        case Review(action, item, entry_id):
            data = f"r|{action}|{item}|{entry_id}"
    if len(data.encode()) > _MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def _number(text: str) -> int | None:
    return int(text) if _NUMBER.fullmatch(text) else None


def decode(data: str | None) -> Payload | None:
    """The payload a button carried, or None when it is not one of ours."""
    if not data or len(data.encode("utf-8", "replace")) > _MAX_BYTES:
        return None
    parts = data.split("|")
    kind, rest = parts[0], parts[1:]
    language = known_language(rest[0]) if rest else None
    if kind == "o" and len(rest) == 2 and language and _ENTRY.fullmatch(rest[1]):
        return Open(rest[1], language)
    if kind == "c" and len(rest) == 3 and language and _ENTRY.fullmatch(rest[2]):
        number = _number(rest[1])
        return None if number is None else Choose(rest[2], language, number)
    if (
        kind == "v"
        and len(rest) == 4
        and language
        and rest[1] in ("+", "-")
        and _ENTRY.fullmatch(rest[3])
    ):
        number = _number(rest[2])
        return None if number is None else Vote(rest[3], language, rest[1] == "+", number)
    if kind == "r" and len(rest) == 3 and rest[0] in _REVIEW_ACTIONS:
        number = _number(rest[1])
        if number is None or (rest[2] and not _ENTRY.fullmatch(rest[2])):
            return None
        return Review(rest[0], number, rest[2])
    return None
