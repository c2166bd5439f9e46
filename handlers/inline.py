"""Inline mode: "@bot question" in any chat offers the best answers as results."""

from __future__ import annotations

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import InlineQueryLimit

from handlers.render import render_one
from handlers.services import FaqContext
from knowledge.answer import Answer, Kind

# Opens a private chat with the bot at /start help when nothing matched.
HELP_START_PARAMETER = "help"


async def on_inline_query(update: Update, context: FaqContext) -> None:
    """Answer with the match and the runner-ups; an empty query lists the topics."""
    query = update.inline_query
    if query is None:
        return
    svc = context.services
    engine = svc.engine
    user = query.from_user
    text = query.query.strip()
    answers: list[Answer] = []
    if text:
        # As a chat message is answered, without a conversation's topic.
        asked = svc.answer(user, text)
        language = asked.language
        if asked.kind is Kind.ANSWER:
            answers.append(asked)
        ids = [s.entry_id for s in asked.suggestions]
    else:
        language = svc.language_for(user)
        ids = [topic.entry for topic in engine.knowledge.topics]
    for entry_id in ids:
        opened = engine.open(entry_id, language)
        if opened is not None and all(a.entry_id != entry_id for a in answers):
            answers.append(opened)
    results = [
        InlineQueryResultArticle(
            id=answer.entry_id or "fallback",
            title=answer.title or "",
            description=answer.text[:100],
            # One message: the whole answer, or as much as fits with its contact and source.
            input_message_content=InputTextMessageContent(render_one(answer, context.bot.username)),
        )
        for answer in answers[: InlineQueryLimit.RESULTS]
    ]
    # Nothing matched: a button above the (empty) results says how to ask instead.
    button = (
        None
        if results
        else InlineQueryResultsButton(
            engine.text("inline_hint", language), start_parameter=HELP_START_PARAMETER
        )
    )
    # Personal: the results are in this user's language, so Telegram must not
    # hand them to someone else who types the same query.
    await query.answer(results, cache_time=60, is_personal=True, button=button)
