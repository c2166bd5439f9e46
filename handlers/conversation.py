"""What people say to the bot: questions, commands, and things that are not text."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from telegram import Message, Update, User
from telegram.constants import ChatType, MessageEntityType
from telegram.error import TimedOut

from handlers.inline import HELP_START_PARAMETER
from handlers.render import escape, render
from handlers.services import FaqContext, Services
from knowledge.answer import Answer
from knowledge.schema import COMMAND_ENTRIES, Language, known_language
from knowledge.vcard import vcard

log = logging.getLogger(__name__)


async def reply_with_text(message: Message, svc: Services, key: str, language: Language) -> None:
    """Reply with one of the bot's own sentences, escaped like every other text we send."""
    await message.reply_text(escape(svc.engine.text(key, language)))


async def send_answer(
    message: Message,
    answer: Answer,
    context: FaqContext,
    question_id: int = 0,
) -> None:
    """Send one answer as a reply: the contact card first when it is the press contact.

    An answer of several parts (the card, then the text, or a text split in
    two) carries on past a part whose answer from Telegram never came
    (TimedOut): Telegram received it and has most likely sent it, and the
    part after it, the text with the e-mail and phones, must still go. That
    part is not sent again, which could show it twice; the timeout is one
    warning line. Any other failure stops the answer and reaches the error
    handler: a refusal (the person blocked the bot) would refuse the rest
    too, and a part Telegram never received however often it was sent means
    Telegram is down for longer than the retry window.
    """
    parts: list[tuple[str, Callable[[], Awaitable[object]]]] = []
    if answer.contact_card and answer.contact is not None:
        contact = answer.contact
        parts.append(
            (
                "the contact card",
                partial(
                    message.reply_contact,
                    phone_number=contact.phones[0],
                    first_name=contact.first_name,
                    last_name=contact.last_name,
                    vcard=vcard(contact, answer.language),
                ),
            )
        )
    outgoing = render(answer, context.bot.username, question_id)
    for number, part in enumerate(outgoing, start=1):
        name = "the answer" if len(outgoing) == 1 else f"part {number} of {len(outgoing)}"
        parts.append((name, partial(message.reply_text, part.text, reply_markup=part.keyboard)))
    for number, (name, send) in enumerate(parts, start=1):
        try:
            await send()
        except TimedOut as error:
            log.warning(
                "chat %s: Telegram's answer to %s did not come in time (%s); it was most "
                "likely sent, so it is not sent again%s",
                message.chat.id,
                name,
                error,
                "; carrying on with the rest" if number < len(parts) else "",
            )


def _addressed_text(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a message meant for the bot, or None when it is not for us.

    In private chats every message is for the bot. In groups only messages
    that mention it or reply to it are; the mention itself is cut out.
    """
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text
    mention = f"@{bot_username}".casefold()
    for entity, value in message.parse_entities([MessageEntityType.MENTION]).items():
        if value.casefold() == mention:
            return (text[: entity.offset] + text[entity.offset + entity.length :]).strip()
    return None


def conversation_of(update: Update) -> tuple[int, int] | None:
    """Whose conversation an update belongs to: the chat, and in a group the person too,
    so that one member's follow-up never leans on another's question."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    return (chat.id, user.id if user is not None else 0)


def remember_topic(svc: Services, update: Update, topic: str | None) -> None:
    """What a follow-up in this conversation will be read against (None forgets)."""
    conversation = conversation_of(update)
    if conversation is not None:
        svc.topics.set(conversation, topic)


def ask(
    services_: Services,
    user: User | None,
    text: str,
    conversation: tuple[int, int] | None = None,
) -> tuple[Answer, int]:
    """Answer a question for a user and log it; returns the answer and the log row id.

    In a conversation, the question is read as a possible follow-up of the
    topic answered last, and its own topic becomes the one to follow.
    """
    topic = services_.topics.get(conversation) if conversation is not None else None
    answer = services_.answer(user, text, topic)
    if conversation is not None:
        services_.topics.answered(conversation, answer)
    closest = answer.suggestions[0].entry_id if answer.suggestions else None
    question_id = services_.records.log_question(
        user.id if user else 0,
        text,
        answer.language,
        str(answer.kind),
        answer.entry_id if answer.matched else None,
        closest,
        answer.score,
    )
    return answer, question_id


async def on_text(update: Update, context: FaqContext) -> None:
    """A free-text question: answer it in its own language."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    text = _addressed_text(message, context.bot.username, context.bot.id)
    if text is None:
        return
    answer, question_id = ask(
        context.services, update.effective_user, text, conversation_of(update)
    )
    await send_answer(message, answer, context, question_id)


def _command_language(update: Update, context: FaqContext) -> Language:
    return context.services.language_for(update.effective_user)


async def on_start(update: Update, context: FaqContext) -> None:
    """/start, possibly from a shared link: t.me/<bot>?start=<entry id> opens that answer."""
    message = update.effective_message
    if message is None:
        return
    svc = context.services
    engine = svc.engine
    language = _command_language(update, context)
    # A fresh start assumes nothing; a shared link's entry is the topic.
    remember_topic(svc, update, None)
    if context.args == [HELP_START_PARAMETER]:  # from the inline mode's hint button
        await send_answer(message, engine.greeting(language, key="help"), context)
        return
    if context.args and len(context.args) == 1:
        opened = engine.open(context.args[0], language)
        if opened is not None:
            remember_topic(svc, update, opened.entry_id)
            await send_answer(message, opened, context)
            return
    await send_answer(message, engine.greeting(language), context)


async def on_help(update: Update, context: FaqContext) -> None:
    """/help: what the bot knows, the commands, and the topics."""
    if update.effective_message is None:
        return
    engine = context.services.engine
    greeting = engine.greeting(_command_language(update, context), key="help")
    await send_answer(update.effective_message, greeting, context)


async def on_entry_command(update: Update, context: FaqContext) -> None:
    """/recommendations, /forums, /event, /document, /contact: open that entry."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split()[0].lstrip("/").split("@")[0].casefold()
    svc = context.services
    opened = svc.engine.open(COMMAND_ENTRIES.get(command, ""), _command_language(update, context))
    if opened is None:  # the admin removed the entry: fall back to the greeting
        opened = svc.engine.greeting(_command_language(update, context))
    remember_topic(svc, update, opened.topic)
    await send_answer(message, opened, context)


async def on_language(update: Update, context: FaqContext) -> None:
    """/language en|es: remember the reply language for this user."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    svc = context.services
    choice = known_language(
        (context.args[0].casefold()[:2] if context.args else "").replace("sp", "es")
    )
    if choice is None:
        await reply_with_text(message, svc, "language_usage", svc.language_for(user))
        return
    svc.records.set_language(user.id, choice)
    await reply_with_text(message, svc, "language_set", choice)


async def on_other_message(update: Update, context: FaqContext) -> None:
    """Stickers, photos, voice notes: a hint to type the question instead."""
    message = update.effective_message
    if message is None:
        return
    svc = context.services
    await reply_with_text(message, svc, "non_text", svc.language_for(update.effective_user))
