"""Render an `Answer` as Telegram messages: HTML text, buttons, contact cards.

Every piece of text from the knowledge base or from a user is escaped here,
in one place, so a reply is always valid Telegram HTML whatever was typed.
The whole message is composed first (title, answer, contact, source note,
the heading of the buttons below) and only then split where Telegram's limit
says, on paragraph, line or word boundaries, never inside a tag; the buttons
go on the last part. Inline mode gets one message, without buttons: the
answer cut short, its contact and source kept.

Every text shown comes from the `Answer` (its framing sentences included),
never from the engine: what the engine decided is what is rendered, from
the knowledge base that answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardMarkupLimit, MessageLimit
from telegram.helpers import create_deep_linked_url
from telegram.helpers import escape as _escape_html

from handlers import callback_data
from knowledge.answer import Answer, Kind, Link
from knowledge.contact_details import ContactField, Detail, contact_details
from knowledge.schema import Contact, Language

# What Telegram allows one message, counted as it counts: the text once parsed.
MESSAGE_LIMIT = MessageLimit.MAX_TEXT_LENGTH
# Paragraphs of one message are apart by a blank line.
_PARAGRAPH = "\n\n"
_TAG = re.compile(r"<[^>]*>")
# The mark of an answer cut short to fit one message (inline mode).
ELLIPSIS = "…"


def escape(text: str) -> str:
    return _escape_html(text, quote=False)


@dataclass(frozen=True)
class Outgoing:
    """One message to send: HTML text and optional buttons."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


def visible_length(html: str) -> int:
    """How long Telegram counts a message of our HTML: its text once the tags are
    parsed and the entities decoded, in UTF-16 code units (an emoji counts two)."""
    return utf16_length(unescape(_TAG.sub("", html)))


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, budget: int) -> int:
    """How many characters of `text` fit in `budget` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return index
    return len(text)


def _cut(text: str, budget: int) -> int:
    """Where to cut plain `text` so that its first part fits `budget`: the whole
    when it fits, else the gentlest boundary (paragraph, line, word) in the
    second half of what fits, else just what fits."""
    most = _fitting(text, budget)
    if most >= len(text):
        return len(text)
    window = text[:most]
    for boundary in (_PARAGRAPH, "\n", " "):
        cut = window.rfind(boundary)
        if cut >= most // 2:
            return cut
    return most


@dataclass(frozen=True)
class _Block:
    """One paragraph of a message: plain text (escaped here, and cut if it must be,
    each part in `tag`), or HTML that is kept whole."""

    text: str
    tag: str = ""
    html: bool = False

    def markup(self, text: str) -> str:
        if self.html:
            return text
        escaped = escape(text)
        return f"<{self.tag}>{escaped}</{self.tag}>" if self.tag else escaped


def _pack(blocks: list[_Block], limit: int) -> list[str]:
    """The blocks as messages of at most `limit` (as Telegram counts), a blank line
    between blocks; a block of text that does not fit is cut across messages."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        rest = block.text if block.html else block.text.strip()
        while rest:
            joined = current + _PARAGRAPH if current else ""
            budget = limit - visible_length(joined)
            if block.html or utf16_length(rest) <= budget:
                if visible_length(joined + block.markup(rest)) <= limit or not current:
                    current = joined + block.markup(rest)
                    rest = ""
                else:
                    messages.append(current)
                    current = ""
                continue
            cut = _cut(rest, budget)
            if cut < 1 or (current and budget < limit // 4):
                # Too little room left here for a sensible part: start the next message.
                messages.append(current)
                current = ""
                continue
            current = joined + block.markup(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
            messages.append(current)
            current = ""
    if current:
        messages.append(current)
    return messages or [ELLIPSIS]


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
    answer: Answer, bot_username: str | None, question_id: int
) -> InlineKeyboardMarkup | None:
    lang = answer.language
    rows: list[list[InlineKeyboardButton]] = []
    if answer.kind in (Kind.DID_YOU_MEAN, Kind.NOT_STATED):
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
        rows = _buttons(_follow_ups(answer), lang)
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
            last_row.append(InlineKeyboardButton(answer.framing.share, url=share))
        rows.append(last_row)
    else:
        rows = _buttons(answer.topics, lang)
    rows = rows[: InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER // 3]
    return InlineKeyboardMarkup(rows) if rows else None


def _follow_ups(answer: Answer) -> tuple[Link, ...]:
    """The entries offered as buttons after an answer (none after other replies)."""
    return answer.related if answer.kind is Kind.ANSWER and answer.entry_id else ()


def contact_html(contact: Contact, language: Language) -> str:
    """The press contact's details (knowledge/contact_details.py) as HTML: the name in
    bold, the phones and e-mail in tap-to-copy form, the web address as a link."""
    return contact_details(contact, language).shown(_detail_html)


def _detail_html(field: ContactField) -> str:
    value = escape(field.value)
    if field.detail is Detail.NAME:
        return f"<b>{value}</b>"
    if field.detail in (Detail.PHONE, Detail.EMAIL):
        return f"<code>{value}</code>"
    if field.detail is Detail.WEBSITE:
        return f'<a href="{_escape_html(field.value, quote=True)}">{value}</a>'
    return value


def _blocks(answer: Answer, body: str | None = None, buttons: bool = True) -> list[_Block]:
    """The whole message, paragraph by paragraph: title, answer, contact, source note,
    and the heading of the buttons below.

    `body`, when given, is HTML that stands for the answer's text. Without
    `buttons` (an inline result has none), no heading announces them.
    """
    lang = answer.language
    blocks: list[_Block] = []
    if answer.title and answer.matched:
        blocks.append(_Block(answer.title, tag="b"))
    blocks.append(_Block(answer.text if body is None else body, html=body is not None))
    # The contact and the source note stay together, in the last message.
    footer = []
    if answer.contact is not None:
        # Phones and e-mail in <code>: one tap copies them on every Telegram client.
        intro = escape(answer.framing.contact_intro)
        footer.append(f"{intro}\n{contact_html(answer.contact, lang)}")
    if answer.source_note:
        footer.append(f"<i>{escape(answer.source_note)}</i>")
    if buttons and _follow_ups(answer):
        footer.append(escape(answer.framing.related_intro))
    elif buttons and answer.kind in (Kind.GREETING, Kind.EMPTY, Kind.FALLBACK) and answer.topics:
        footer.append(escape(answer.framing.topics_intro))
    if footer:
        blocks.append(_Block(_PARAGRAPH.join(footer), html=True))
    return blocks


def render(answer: Answer, bot_username: str | None = None, question_id: int = 0) -> list[Outgoing]:
    """The messages that carry one answer, in order; buttons on the last."""
    texts = _pack(_blocks(answer), MESSAGE_LIMIT)
    messages = [Outgoing(text) for text in texts]
    keyboard = answer_keyboard(answer, bot_username, question_id)
    messages[-1] = Outgoing(messages[-1].text, keyboard)
    return messages


def render_one(answer: Answer, bot_username: str | None = None) -> str:
    """The answer as one message, as an inline result must be: all of it when it fits;
    else the title, as much of the answer as fits and "…", then the contact and the
    source note. With the bot's username the "…" opens the whole answer in private."""
    messages = _pack(_blocks(answer, buttons=False), MESSAGE_LIMIT)
    if len(messages) == 1:
        return messages[0]
    ellipsis = ELLIPSIS
    if bot_username and answer.entry_id and answer.matched:
        ellipsis = f'<a href="{escape(deep_link(bot_username, answer.entry_id))}">{ELLIPSIS}</a>'
    # The room left for the answer's text once the rest of the message is composed.
    frame = _compose(_blocks(answer, body=ellipsis, buttons=False))
    room = MESSAGE_LIMIT - visible_length(frame) - len(" ")
    text = answer.text.strip()
    shortened = text[: _cut(text, max(room, 0))].rstrip()
    body = f"{escape(shortened)} {ellipsis}" if shortened else ellipsis
    return _compose(_blocks(answer, body=body, buttons=False))


def _compose(blocks: list[_Block]) -> str:
    """The blocks as one message, uncut."""
    return _PARAGRAPH.join(block.markup(block.text) for block in blocks)
