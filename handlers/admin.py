"""Admin commands: /reload, /stats, /review. Only for the ids in `[telegram] admins`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, InlineKeyboardMarkupLimit, MessageLimit

from handlers import callback_data
from handlers.records import ReviewItem
from handlers.render import escape
from handlers.services import FaqContext, Services
from knowledge.editing import add_question
from knowledge.reload import ReloadOutcome
from knowledge.schema import Language

log = logging.getLogger(__name__)
DAY = 86400.0
MAX_ERRORS_SHOWN = 15
# /stats lists the feedback of this many entries, the most voted first.
MAX_FEEDBACK_SHOWN = 10
# Review lists kept per admin, one per /review message, so that the buttons of
# a few older messages still act on their own list; older ones expire.
REVIEWS_KEPT = 5
# Room left at the end of a cut list for "… +N".
_MORE = len(" … +99999")


async def _refuse_unless_admin(update: Update, context: FaqContext) -> bool:
    """True when the sender may not use admin commands (and has been told so politely)."""
    svc = context.services
    user = update.effective_user
    if svc.is_admin(user):
        return False
    # Hashed, as the README promises: the log is kept longer and read by more people.
    log.warning(
        "admin command refused for user %s", svc.records.user_hash(user.id) if user else None
    )
    await _refuse(update, svc.engine.text("admin_only", svc.language_for(user)))
    return True


async def _refuse_outside_private_chat(update: Update, context: FaqContext) -> bool:
    """True when an admin view was asked for in a group (and the admin told where it works).

    Everyone in a group reads the bot's replies, and /stats and /review show what
    people asked: they answer only in the admin's private chat.
    """
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return False
    svc = context.services
    language = svc.language_for(update.effective_user)
    await _refuse(update, svc.engine.text("admin_private_only", language))
    return True


async def _refuse(update: Update, refusal: str) -> None:
    """Say why not where it was asked: a notice on the button pressed (plain text,
    shown to the presser alone), or a reply to the command."""
    if update.callback_query is not None:
        await update.callback_query.answer(refusal)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(escape(refusal))


def problem_lines(problems: Sequence[object], used: int = 0) -> list[str]:
    """Problems as <code> lines, as many as fit in one message with `used` taken, then "… +N".

    Problem lines quote file paths and questions, so fifteen of them can be
    longer than Telegram allows one message: it would refuse the whole reply.
    """
    budget = MessageLimit.MAX_TEXT_LENGTH - used - _MORE
    lines: list[str] = []
    for problem in problems[:MAX_ERRORS_SHOWN]:
        line = f"<code>{escape(str(problem))}</code>"
        budget -= len(line) + 1
        if budget < 0:
            break
        lines.append(line)
    if len(problems) > len(lines):
        lines.append(f"… +{len(problems) - len(lines)}")
    return lines


def id_line(sign: str, ids: Sequence[str], budget: int) -> str:
    """`sign` and as many of `ids` as fit in `budget` characters, then "… +N".

    A reload that adds a hundred entries names more ids than one message holds.
    """
    room = budget - len(sign) - _MORE
    shown: list[str] = []
    for entry_id in ids:
        room -= len(escape(entry_id)) + len(", ")
        if room < 0:
            break
        shown.append(entry_id)
    parts = [sign]
    if shown:
        parts.append(escape(", ".join(shown)))
    if len(ids) > len(shown):
        parts.append(f"… +{len(ids) - len(shown)}")
    return " ".join(parts)


def describe_reload(outcome: ReloadOutcome, svc: Services, language: Language) -> str:
    """The admin's reply: counts and ids changed, or the errors with file:line:col."""
    engine = svc.engine
    if not outcome.ok:
        heading = escape(engine.text("reload_failed", language))
        return "\n".join([heading, *problem_lines(outcome.problems, len(heading))])
    text = engine.text("reload_ok", language).format(
        entries=outcome.entries, questions=outcome.questions
    )
    lines = [escape(text)]
    budget = MessageLimit.MAX_TEXT_LENGTH - len(lines[0])
    if outcome.warnings:
        # Room kept for the warnings: they are what the admin has to act on.
        budget = budget // 2
    for sign, ids in (("+", outcome.added), ("−", outcome.removed), ("~", outcome.changed)):
        if ids:
            line = id_line(sign, ids, budget - 1)  # its newline included
            budget -= len(line) + 1
            lines.append(line)
    if outcome.warnings:
        lines.append(escape(engine.text("reload_warnings", language)))
        used = len("\n".join(lines)) + 1
        lines.extend(problem_lines(outcome.warnings, used))
    return "\n".join(lines)


async def on_reload(update: Update, context: FaqContext) -> None:
    """/reload: re-read, validate and swap the knowledge base without a restart.

    The reload is the application's (`Services.reloads`, the same as SIGHUP's);
    this only says how it went.
    """
    if await _refuse_unless_admin(update, context) or update.effective_message is None:
        return
    svc = context.services
    outcome = await svc.reloads.reload(context.bot)
    language = svc.language_for(update.effective_user)
    await update.effective_message.reply_text(describe_reload(outcome, svc, language))


def stats_text(svc: Services, language: Language, now: float | None = None) -> str:
    """Questions per day/week, matched rate, top entries, top unanswered, feedback.

    It waits for the database (counted in SQL): call it in a worker thread.
    """
    now = now if now is not None else time.time()
    text = svc.engine.text
    stats = svc.records.stats(now)
    lines = [f"<b>{escape(text('stats_questions', language))}</b>"]
    periods = (
        (text("stats_day", language), stats.asked_day, stats.answered_day),
        (text("stats_week", language), stats.asked_week, stats.answered_week),
    )
    for period, asked, answered in periods:
        rate = f"{100 * answered / asked:.0f}%" if asked else "-"
        line = text("stats_period", language).format(
            period=period, asked=asked, answered=answered, rate=rate
        )
        lines.append(escape(line))
    sections = (
        ("stats_top_entries", stats.top_entries),
        ("stats_top_unanswered", stats.top_unanswered),
    )
    for key, counted in sections:
        if counted:
            lines.append(f"\n<b>{escape(text(key, language))}</b>")
            lines += [f"{count}× {escape(item or '')}" for item, count in counted]
    votes = stats.votes
    if votes:
        # Every entry voted on would not fit one message: the most voted, then a count.
        ranked = sorted(votes.items(), key=lambda pair: (-sum(pair[1]), pair[0]))
        lines.append(f"\n<b>{escape(text('stats_feedback', language))}</b>")
        lines += [
            f"{escape(entry)}: 👍 {up} 👎 {down}"
            for entry, (up, down) in ranked[:MAX_FEEDBACK_SHOWN]
        ]
        if len(ranked) > MAX_FEEDBACK_SHOWN:
            lines.append(f"… +{len(ranked) - MAX_FEEDBACK_SHOWN}")
    return "\n".join(lines)


async def on_stats(update: Update, context: FaqContext) -> None:
    """/stats: what people asked lately and how well the bot did, in private only."""
    if await _refuse_unless_admin(update, context) or update.effective_message is None:
        return
    if await _refuse_outside_private_chat(update, context):
        return
    svc = context.services
    language = svc.language_for(update.effective_user)
    await update.effective_message.reply_text(await asyncio.to_thread(stats_text, svc, language))


def _review_message(
    svc: Services, items: list[ReviewItem], index: int, language: Language
) -> tuple[str, InlineKeyboardMarkup]:
    item = items[index]
    text = svc.engine.text
    closest = svc.engine.knowledge.entry(item.closest_id) if item.closest_id else None
    heading = text("review_heading", language).format(
        number=index + 1, total=len(items), count=item.count, reason=_reason(svc, item, language)
    )
    lines = [f"<b>{escape(heading)}</b>", f"“{escape(item.text)}”"]
    rows = []
    if closest is not None:
        closest_line = text("review_closest", language).format(
            entry=closest.id, score=f"{item.score:.0f}"
        )
        lines.append(escape(closest_line))
        add = callback_data.Review("add", index, closest.id)
        rows.append(
            [
                InlineKeyboardButton(
                    f"➕ {closest.title(language)}", callback_data=callback_data.encode(add)
                )
            ]
        )
    pick = callback_data.encode(callback_data.Review("pick", index, ""))
    ignore = callback_data.encode(callback_data.Review("ignore", index, ""))
    rows.append(
        [
            InlineKeyboardButton(text("review_pick", language), callback_data=pick),
            InlineKeyboardButton(text("review_ignore", language), callback_data=ignore),
        ]
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _reason(svc: Services, item: ReviewItem, language: Language) -> str:
    """Why the item is under review, in the admin's language."""
    text = svc.engine.text
    if item.reason == "down-voted":
        return text("review_reason_down_voted", language)
    if item.chosen_id is not None:
        return text("review_reason_chosen", language).format(entry=item.chosen_id)
    return text("review_reason_unanswered", language)


def _mark_group_reviewed(svc: Services, item: ReviewItem, action: str) -> None:
    """Every wording in the group is settled, not only the one shown (queued, no waiting)."""
    for text in dict.fromkeys((item.text, *item.wordings)):
        svc.records.mark_reviewed(text, action)


async def on_review(update: Update, context: FaqContext) -> None:
    """/review: walk the top unanswered and down-voted questions, one by one, in private."""
    if await _refuse_unless_admin(update, context) or update.effective_message is None:
        return
    if await _refuse_outside_private_chat(update, context):
        return
    svc = context.services
    language = svc.language_for(update.effective_user)
    # Counted by SQLite and re-ranked by the engine in a worker thread: the loop answers on.
    items = await asyncio.to_thread(svc.reviews.review_items, time.time() - 30 * DAY)
    if not items:
        await update.effective_message.reply_text(escape(svc.engine.text("review_empty", language)))
        return
    text, keyboard = _review_message(svc, items, 0, language)
    sent = await update.effective_message.reply_text(text, reply_markup=keyboard)
    # Kept per admin and per message, so that the buttons' small numbers point into
    # the list that message shows, even after a newer /review. Message ids count per
    # chat: keyed by both, a press is always checked against its own chat's message.
    if context.user_data is not None:
        reviews: dict[tuple[int, int], list[ReviewItem]] = context.user_data.setdefault(
            "reviews", {}
        )
        reviews[(sent.chat_id, sent.message_id)] = items
        for old in list(reviews)[:-REVIEWS_KEPT]:
            del reviews[old]


async def on_review_button(
    update: Update, context: FaqContext, payload: callback_data.Review
) -> None:
    """A review decision. Checked again here: buttons can be forwarded or forged."""
    if await _refuse_unless_admin(update, context):
        return
    if await _refuse_outside_private_chat(update, context):
        return
    query = update.callback_query
    assert query is not None
    svc = context.services
    language = svc.language_for(update.effective_user)
    text = svc.engine.text
    # A message Telegram no longer gives us (deleted, or older than 48 hours) comes
    # with date 0 and nothing else; PTB parses it as a Message all the same, with
    # is_accessible False. It cannot be edited: nothing is done for it, the file least of all.
    if not isinstance(query.message, Message) or not query.message.is_accessible:
        await query.answer(text("review_expired", language))
        return
    reviews = context.user_data.get("reviews", {}) if context.user_data is not None else {}
    items: list[ReviewItem] = reviews.get((query.message.chat_id, query.message.message_id), [])
    if payload.item >= len(items):
        await query.answer(text("review_expired", language))
        return
    item = items[payload.item]
    if payload.action == "pick":
        await query.answer()
        rows = [
            [
                InlineKeyboardButton(
                    entry.title(language),
                    callback_data=callback_data.encode(
                        callback_data.Review("add", payload.item, entry.id)
                    ),
                )
            ]
            for entry in svc.engine.knowledge.entries
        ]
        limit = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER
        await query.edit_message_reply_markup(InlineKeyboardMarkup(rows[:limit]))
        return
    if payload.action == "add":
        problems = await asyncio.to_thread(
            add_question, svc.reloads.path, payload.entry_id, item.language, item.text
        )
        if problems:
            await query.answer(text("review_not_added", language))
            await query.message.reply_text("\n".join(problem_lines(problems)))
            return
        outcome = await svc.reloads.reload(context.bot)
        _mark_group_reviewed(svc, item, f"add:{payload.entry_id}")
        await query.answer(text("review_added", language))
        await query.message.reply_text(describe_reload(outcome, svc, language))
    elif payload.action == "ignore":
        _mark_group_reviewed(svc, item, "ignore")
        await query.answer(text("review_ignored", language))
    else:
        await query.answer()
    following = payload.item + 1
    if following < len(items):
        message, keyboard = _review_message(svc, items, following, language)
        await query.edit_message_text(message, reply_markup=keyboard)
    else:
        await query.edit_message_text(escape(text("review_done", language)))
