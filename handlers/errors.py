"""One failing update must never stop the bot: log it, tell nobody's secrets.

One fault, one line. A failure the bot recovers from (a poll for updates
that failed, a request Telegram may have carried out although its answer
never came) is one warning; an answer lost for good (Telegram refused it,
or never received it however often it was sent) is one error naming the
update and its chat. Only a failure of the bot's own code brings its
traceback, since only there is it needed.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError, TimedOut

from handlers.services import FaqContext

log = logging.getLogger(__name__)

# An error's text in a log line: a proxy's error page can be kilobytes long.
LONGEST_DESCRIPTION = 160


def describe(error: BaseException) -> str:
    """The error's kind and text on one short line."""
    text = " ".join(str(error).split())
    if len(text) > LONGEST_DESCRIPTION:
        text = text[: LONGEST_DESCRIPTION - 1] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def on_error(update: object, context: FaqContext) -> None:
    """Log the failure once, at the level it deserves; the token filter masks any secret."""
    error = context.error
    if update is None and isinstance(error, TelegramError):
        # From polling: python-telegram-bot asks again by itself, and Telegram
        # keeps the updates until a later poll acknowledges them.
        log.warning("getting updates failed (%s); polling again", describe(error))
        return
    update_id = update.update_id if isinstance(update, Update) else None
    chat = update.effective_chat if isinstance(update, Update) else None
    where = f"update {update_id}" + (f" in chat {chat.id}" if chat is not None else "")
    if isinstance(error, TimedOut):
        # Telegram received the request and may well have carried it out: a
        # slow answer is still a sent message, so it is not sent again.
        log.warning(
            "%s: Telegram's answer did not come in time (%s); it may have been carried out, "
            "so it is not sent again",
            where,
            describe(error),
        )
        return
    if isinstance(error, TelegramError):
        log.error("%s failed, its answer lost: %s", where, describe(error))
        return
    log.error("%s failed", where, exc_info=error)
