"""Button presses: topics, follow-ups, "did you mean" choices and feedback."""

from __future__ import annotations

import logging

from telegram import Message, Update

from handlers import callback_data
from handlers.admin import on_review_button
from handlers.conversation import remember_topic, send_answer
from handlers.services import FaqContext

log = logging.getLogger(__name__)


async def on_button(update: Update, context: FaqContext) -> None:
    """Every callback query ends in answerCallbackQuery, or the client shows a spinner."""
    query = update.callback_query
    if query is None:
        return
    svc = context.services
    payload = callback_data.decode(query.data)
    language = svc.language_for(update.effective_user)
    message = query.message
    if isinstance(payload, callback_data.Review):
        await on_review_button(update, context, payload)
        return
    if payload is None or not isinstance(message, Message) or not message.is_accessible:
        # Forged, stale, or from a message Telegram no longer gives us (PTB still
        # builds a Message for those, with date 0).
        await query.answer(svc.engine.text("button_expired", language))
        return
    opened = svc.engine.open(payload.entry_id, payload.language)
    if opened is None:  # forged, or the entry went away in a reload: no vote either
        await query.answer(svc.engine.text("button_expired", language))
        return
    if isinstance(payload, callback_data.Vote):
        await query.answer(svc.engine.text("feedback_thanks", payload.language))
        user_id = update.effective_user.id if update.effective_user else 0
        vote = 1 if payload.up else -1
        svc.records.log_feedback(user_id, payload.entry_id, vote, payload.question_id or None)
        return
    await query.answer()
    if isinstance(payload, callback_data.Choose) and payload.question_id:
        # Kept only for the presser's own question: button data can be forged.
        user_id = update.effective_user.id if update.effective_user else 0
        svc.records.log_choice(user_id, payload.question_id, payload.entry_id)
    # A follow-up button or a "did you mean" choice sets the topic, as a question would.
    remember_topic(svc, update, opened.entry_id)
    await send_answer(message, opened, context)
