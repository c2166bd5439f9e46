"""Inline mode: "@bot question" in any chat offers the best answers as results."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import InlineQueryLimit
from telegram.ext import ContextTypes

from handlers.render import render
from handlers.services import services
from knowledge.answer import Answer, Kind


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer with the match and the runner-ups; an empty query lists the topics."""
    query = update.inline_query
    if query is None:
        return
    svc = services(context)
    engine = svc.engine
    text = query.query.strip()
    language = (
        svc.saved_language(query.from_user)
        or (engine.language_of(text) if text else None)
        or svc.client_language(query.from_user)
    )
    answers: list[Answer] = []
    if text:
        asked = engine.ask(text, language=svc.saved_language(query.from_user), fallback=language)
        if asked.kind is Kind.ANSWER:
            answers.append(asked)
        ids = [s.entry_id for s in asked.suggestions]
    else:
        ids = [topic.entry for topic in engine.knowledge.topics]
    for entry_id in ids:
        opened = engine.open(entry_id, language)
        if opened is not None and all(a.entry_id != entry_id for a in answers):
            answers.append(opened)
    results = []
    for answer in answers[: InlineQueryLimit.RESULTS]:
        body = render(answer, engine)[0].text
        results.append(
            InlineQueryResultArticle(
                id=answer.entry_id or "fallback",
                title=answer.title or "",
                description=answer.text[:100],
                input_message_content=InputTextMessageContent(body),
            )
        )
    await query.answer(results, cache_time=60, is_personal=False)
