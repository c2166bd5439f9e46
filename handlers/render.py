"""Render an `Answer` as Telegram messages: HTML text, buttons, contact cards.

Every piece of text from the knowledge base or from a user is escaped here,
in one place, so a reply is always valid Telegram HTML whatever was typed.
Texts longer than one message are split on paragraph, line or word
boundaries, and the buttons go on the last part.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardMarkupLimit, MessageLimit
from telegram.helpers import create_deep_linked_url
from telegram.helpers import escape as _escape_html

from handlers import callback_data
from knowledge.answer import Answer, Kind, Link
from knowledge.engine import Engine
from knowledge.schema import Contact, Language

# Room left in each part for the title and the source note.
_PART_BUDGET = MessageLimit.MAX_TEXT_LENGTH - 300


def escape(text: str) -> str:
    return _escape_html(text, quote=False)


@dataclass(frozen=True)
class Outgoing:
    """One message to send: HTML text and optional buttons."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


def split_text(text: str, limit: int = _PART_BUDGET) -> list[str]:
    """Cut plain text into parts of at most `limit` characters, at the gentlest boundary."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return [part for part in parts if part] or [text[:limit] or "…"]


def deep_link(bot_username: str, entry_id: str) -> str:
    return create_deep_linked_url(bot_username, entry_id)


def _buttons(
    links: tuple[Link, ...] | list[Link], language: Language
) -> list[list[InlineKeyboardButton]]:
    return [
        [
            InlineKeyboardButton(
                link.label,
                callback_data=callback_data.encode(callback_data.Open(link.entry_id, language)),
            )
        ]
        for link in links
    ]


def answer_keyboard(
    answer: Answer, engine: Engine, bot_username: str | None, question_id: int
) -> InlineKeyboardMarkup | None:
    lang = answer.language
    rows: list[list[InlineKeyboardButton]] = []
    if answer.kind is Kind.DID_YOU_MEAN:
        rows = [
            [
                InlineKeyboardButton(
                    s.question,
                    callback_data=callback_data.encode(
                        callback_data.Choose(s.entry_id, lang, question_id)
                    ),
                )
            ]
            for s in answer.suggestions
        ]
    elif answer.kind is Kind.ANSWER and answer.entry_id:
        rows = _buttons(answer.related, lang)
        last_row = [
            InlineKeyboardButton(
                "👍",
                callback_data=callback_data.encode(
                    callback_data.Vote(answer.entry_id, lang, True, question_id)
                ),
            ),
            InlineKeyboardButton(
                "👎",
                callback_data=callback_data.encode(
                    callback_data.Vote(answer.entry_id, lang, False, question_id)
                ),
            ),
        ]
        if bot_username:
            link = deep_link(bot_username, answer.entry_id)
            title = quote(answer.title or "")
            share = f"https://t.me/share/url?url={quote(link, safe='')}&text={title}"
            last_row.append(InlineKeyboardButton(engine.text("share", lang), url=share))
        rows.append(last_row)
    else:
        rows = _buttons(answer.topics, lang)
    rows = rows[: InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER // 3]
    return InlineKeyboardMarkup(rows) if rows else None


def contact_html(contact: Contact, language: Language) -> str:
    """The press contact with the phones and e-mail in tap-to-copy form."""
    lines = [
        f"<b>{escape(contact.full_name)}</b>",
        escape(f"{contact.title(language)}, {contact.organisation(language)}"),
        *(f"📱 <code>{escape(phone)}</code>" for phone in contact.phones),
        f"✉️ <code>{escape(contact.email)}</code>",
        f"🌐 {escape(contact.website)}",
    ]
    return "\n".join(lines)


def render(
    answer: Answer, engine: Engine, bot_username: str | None = None, question_id: int = 0
) -> list[Outgoing]:
    """The messages that carry one answer, in order; buttons on the last."""
    lang = answer.language
    header = f"<b>{escape(answer.title)}</b>\n\n" if answer.title and answer.matched else ""
    footer = ""
    if answer.contact is not None:
        # Phones and e-mail in <code>: one tap copies them on every Telegram client.
        intro = escape(engine.text("contact_intro", lang))
        footer += f"\n\n{intro}\n{contact_html(answer.contact, lang)}"
    if answer.kind is Kind.ANSWER:
        footer += f"\n\n<i>{escape(engine.text('source_note', lang))}</i>"
    elif answer.kind in (Kind.GREETING, Kind.EMPTY, Kind.FALLBACK) and answer.topics:
        footer += f"\n\n{escape(engine.text('topics_intro', lang))}"
    parts = split_text(answer.text)
    messages = []
    for index, part in enumerate(parts):
        text = escape(part)
        if index == 0:
            text = header + text
        if index == len(parts) - 1:
            text += footer
        messages.append(Outgoing(text))
    keyboard = answer_keyboard(answer, engine, bot_username, question_id)
    messages[-1] = Outgoing(messages[-1].text, keyboard)
    return messages
