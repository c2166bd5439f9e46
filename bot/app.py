"""Wire python-telegram-bot: the Application, its handlers, and how it runs.

Handler registration is one block in `register_handlers`, in the order that
matters. Start-up work (command menus, descriptions) happens in `post_init`;
the knowledge base watcher and SIGHUP reloads live as long as the application.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import random
import signal
import sqlite3
import sys
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBDeprecationWarning

from bot.aiohttp_request import AiohttpRequest
from bot.config import Config
from bot.logs import TokenFilter, setup_logging
from bot.storage import Recorder, StorageError
from handlers import admin, buttons, conversation, errors, inline
from handlers.errors import describe
from handlers.menus import publish_menus
from handlers.services import SERVICES_KEY, Services
from handlers.topics import RecentTopics
from knowledge.check import check_file
from knowledge.engine import Engine
from knowledge.policy import PolicyError
from knowledge.reload import Reloader
from knowledge.schema import COMMAND_ENTRIES

log = logging.getLogger("faqbot")

# The updates the bot handles; Telegram sends no others (no member or reaction updates).
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
# Pauses before sending a request again after a failure Telegram did not act
# on: doubling from the first to the longest, each jittered (see pause_before).
RETRY_FIRST_PAUSE = 0.5
RETRY_LONGEST_PAUSE = 8.0
PRUNE_EVERY = 6 * 3600.0
# bot_data key of the SIGHUP reloads in progress.
RELOADS_KEY = "reloads"
# For how long a failed getUpdates is sent again by the HTTP client itself.
GET_UPDATES_REPEAT_FOR = 10.0
# How long a request may wait for a free connection before it counts as failed.
POOL_TIMEOUT = 10.0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat.

    A slow reply to one person (held back by the per-chat rate limit) must not
    hold up everyone else, yet one person's messages must be answered in the
    order they were sent. An update first waits for its chat's turn, and only
    then for one of the `concurrent_updates` working slots, so a burst from one
    chat queues behind its own lock instead of filling every slot.
    (python-telegram-bot's own semaphore is taken before `do_process_update`,
    so it is given a generous bound on waiting updates; the real limit on work
    in progress is ours.) Locks nobody waits for are dropped, so memory does
    not grow with the number of users. Updates without a chat (inline
    queries) need no order and take a slot directly.
    """

    def __init__(self, concurrent_updates: int, waiting_updates: int = 4096) -> None:
        super().__init__(max(waiting_updates, concurrent_updates))
        self._working = asyncio.Semaphore(concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._working:
                await coroutine
            return
        key = chat.id
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock, self._working:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    @property
    def tracked_chats(self) -> int:
        return len(self._locks)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _not_carried_out(error: NetworkError) -> bool:
    """Whether a failed request certainly (or, for a dropped connection, likely) did nothing."""
    if isinstance(error, BadRequest):  # a refusal; BadRequest subclasses NetworkError
        return False
    if isinstance(error.__cause__, aiohttp.ClientPayloadError):  # its answer was cut short
        return False
    if isinstance(error, TimedOut):  # sent unless it timed out connecting or waiting for the pool
        return isinstance(error.__cause__, aiohttp.ConnectionTimeoutError)
    return True


def _seconds_to_wait(error: RetryAfter) -> float:
    """A 429's retry_after in seconds.

    python-telegram-bot 22 warns on reading it until it becomes a timedelta
    for good; either way it is the same number of seconds.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, datetime.timedelta) else float(wait)


def _numeric_chat_id(value: object) -> int | None:
    """A request's chat_id as a number, or None for a "@channel" name or no chat.

    python-telegram-bot passes the chat_id it was given: an int, or a str
    that holds a number or a @username.
    """
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    return None


class NotSent(NetworkError):
    """Telegram did not receive a request, sent again and again for the whole retry window."""


class PrivateChatRateLimiter(AIORateLimiter):
    """AIORateLimiter plus Telegram's one-message-per-second rule for private chats,
    and sending again what Telegram cannot have received.

    AIORateLimiter throttles overall and per group, but not per private chat;
    a person who sends twenty questions at once would earn the bot a 429,
    which also delays everyone else. Here each private chat gets a small
    bucket too. Buckets idle for a minute are dropped.
    """

    def __init__(
        self,
        per_chat_per_second: float = 1.0,
        burst: int = 3,
        *,
        retry_seconds: float = 20.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._rate = per_chat_per_second
        self._burst = burst
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, last refill)
        self._retry_seconds = retry_seconds
        self._jitter = random.Random()

    def pause_before(self, attempt: int) -> float:
        """The pause before sending again after the `attempt`-th failure (1, 2, ...).

        Exponential (0.5, 1, 2, 4, 8, 8... s), each shortened at random by up
        to half, so that the replies a passing outage held up do not all come
        back at the same instant and meet the next fault together.
        """
        ceiling = min(RETRY_FIRST_PAUSE * 2 ** (attempt - 1), RETRY_LONGEST_PAUSE)
        return self._jitter.uniform(ceiling / 2, ceiling)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Throttle, send, and send again what Telegram cannot have carried out.

        AIORateLimiter itself waits out a 429 (RetryAfter) a few times. Here a
        request is also sent again, with jittered exponential back-off for up
        to `retry_seconds`, when it failed in a way that means Telegram did not
        act on it: a 5xx answer (500, 502 from Telegram's front end), a
        connection refused or dropped without an answer, a connection or pool
        timeout, a 429 that outlasted AIORateLimiter's own retries. Without
        this a reply hit by a short outage is lost for good. Each failure sent
        again is one warning line; when the window is over the request fails
        with `NotSent`, and the error handler logs the lost answer.

        A read or write timeout is not retried: the request reached Telegram,
        which may well have carried it out (a slow answer is still a sent
        message), and sending it again would answer the person twice. A dropped
        connection is the one ambiguous case retried, since it is mostly a
        stale keep-alive connection closed before the request was read; the
        rare drop after Telegram acted costs a duplicate, not a lost answer.
        An answer cut off after it began (aiohttp's ClientPayloadError) is not
        retried: Telegram answered, so it acted. Refusals (BadRequest,
        Forbidden: the user blocked the bot) are final.
        """
        chat_id = _numeric_chat_id(data.get("chat_id"))
        if chat_id is not None and chat_id > 0:
            await self._take(chat_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except (NetworkError, RetryAfter) as error:
                if isinstance(error, NetworkError) and not _not_carried_out(error):
                    raise
                attempt += 1
                if isinstance(error, RetryAfter):
                    pause = _seconds_to_wait(error)
                else:
                    pause = self.pause_before(attempt)
                spent = loop.time() - started
                where = f"{endpoint} to chat {data['chat_id']}" if "chat_id" in data else endpoint
                if spent + pause > self._retry_seconds:
                    raise NotSent(
                        f"{where} not sent: {attempt} attempts in {spent:.1f} s all failed, "
                        f"the last with {describe(error)}"
                    ) from error
                log.warning(
                    "%s failed (%s); sending it again in %.1f s (attempt %d)",
                    where,
                    describe(error),
                    pause,
                    attempt + 1,
                )
                await asyncio.sleep(pause)

    async def _take(self, chat_id: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            tokens, last = self._buckets.get(chat_id, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - last) * self._rate)
            if tokens >= 1:
                self._buckets[chat_id] = (tokens - 1, now)
                self._forget_idle(now)
                return
            self._buckets[chat_id] = (tokens, now)
            await asyncio.sleep((1 - tokens) / self._rate)

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < 1024:
            return
        idle = now - 60.0
        for chat_id in [c for c, (_, last) in self._buckets.items() if last < idle]:
            del self._buckets[chat_id]

    @property
    def tracked_chats(self) -> int:
        return len(self._buckets)


def register_handlers(application: Application) -> None:
    """All handlers, in one place. Order matters within a group: first match wins."""
    # Commands answer new messages only: editing "/reload" must not reload again.
    new_message = filters.UpdateType.MESSAGE
    commands = [
        CommandHandler("start", conversation.on_start, filters=new_message),
        CommandHandler(["help", "ayuda"], conversation.on_help, filters=new_message),
        CommandHandler(list(COMMAND_ENTRIES), conversation.on_entry_command, filters=new_message),
        CommandHandler(["language", "idioma"], conversation.on_language, filters=new_message),
        # Admin commands check the sender themselves, so that others get a polite refusal.
        CommandHandler("reload", admin.on_reload, filters=new_message),
        CommandHandler("stats", admin.on_stats, filters=new_message),
        CommandHandler("review", admin.on_review, filters=new_message),
    ]
    application.add_handlers(commands)
    # Free text: questions. Commands we do not know fall through to here too,
    # and get an honest "I don't know" rather than silence.
    # An answer this bot itself put into the chat by inline mode is not a question.
    application.add_handler(
        MessageHandler(filters.TEXT & new_message & ~filters.VIA_BOT, conversation.on_text)
    )
    # Anything else a person sends in a private chat: a hint to type.
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE
            & ~filters.TEXT
            & ~filters.StatusUpdate.ALL
            & ~filters.UpdateType.EDITED,
            conversation.on_other_message,
        )
    )
    application.add_handler(CallbackQueryHandler(buttons.on_button))
    application.add_handler(InlineQueryHandler(inline.on_inline_query))
    application.add_error_handler(errors.on_error)


async def _watch_knowledge(application: Application, svc: Services, interval: float) -> None:
    """Reload when the knowledge base file changes (`[knowledge] watch = true`)."""
    seen = svc.reloader.signature()
    while True:
        await asyncio.sleep(interval)
        current = svc.reloader.signature()
        if current is not None and current != seen:
            seen = current
            try:
                await admin.reload_now(svc, application.bot)
            except Exception:  # keep watching: the next edit may fix it
                log.exception("reloading the changed knowledge base failed")


async def _prune_daily(svc: Services) -> None:
    """Apply the retention period while the bot runs for months, not only at start."""
    while True:
        await asyncio.sleep(PRUNE_EVERY)
        try:
            removed = await asyncio.to_thread(svc.storage.prune)
        except sqlite3.Error as error:  # try again next time
            log.warning("pruning old rows failed: %s", error)
            continue
        if removed:
            log.info("pruned %d rows older than the retention period", removed)


def _start_reload(application: Application, svc: Services) -> None:
    """SIGHUP: reload in a task the application keeps until it is done.

    The event loop holds its tasks only weakly: a task nobody references can
    be garbage-collected mid-run. Its failure is logged here, since nobody awaits it.
    """
    task = asyncio.create_task(admin.reload_now(svc, application.bot), name="sighup-reload")
    reloads: set[asyncio.Task[Any]] = application.bot_data.setdefault(RELOADS_KEY, set())
    reloads.add(task)
    task.add_done_callback(reloads.discard)
    task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the SIGHUP reload failed", exc_info=task.exception())


def build_application(
    config: Config, svc: Services, *, requests: tuple[BaseRequest, BaseRequest] | None = None
) -> Application:
    """The configured Application, handlers registered, not yet started.

    `requests` (the HTTP client for everything, and the one for getUpdates)
    replaces the bot's own only for bench/bench_http_client.py, which
    compares it with python-telegram-bot's HTTPXRequest on the same bot.
    """
    assert config.telegram.token is not None

    async def post_init(application: Application) -> None:
        await publish_menus(application.bot, svc)
        me = application.bot
        knowledge = svc.engine.knowledge
        log.info(
            "faqbot started as @%s with %d entries and %d questions",
            me.username,
            len(knowledge.entries),
            knowledge.question_count,
        )
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, _start_reload, application, svc)
        tasks = [asyncio.create_task(_prune_daily(svc))]
        if config.knowledge.watch:
            tasks.append(
                asyncio.create_task(
                    _watch_knowledge(application, svc, config.knowledge.watch_interval)
                )
            )
        application.bot_data["background"] = tasks

    async def post_shutdown(application: Application) -> None:
        for task in [
            *application.bot_data.pop("background", []),
            *application.bot_data.pop(RELOADS_KEY, set()),
        ]:
            task.cancel()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    builder: ApplicationBuilder = (
        Application.builder()
        .token(config.telegram.token)
        .base_url(config.telegram.base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=None))
        .rate_limiter(
            PrivateChatRateLimiter(
                per_chat_per_second=config.telegram.per_chat_per_second,
                overall_max_rate=config.telegram.overall_per_second,
                overall_time_period=1,
                max_retries=3,
                retry_seconds=config.telegram.retry_seconds,
            )
        )
        .concurrent_updates(PerChatUpdateProcessor(config.telegram.concurrent_updates))
        # One connection per update in flight, and a couple for replies to buttons.
        .request(
            requests[0]
            if requests
            else AiohttpRequest(config.telegram.concurrent_updates + 2, pool_timeout=POOL_TIMEOUT)
        )
        # getUpdates may always be sent again: a failed poll, above all the
        # one acknowledging the last updates on a stop, is asked again at once.
        .get_updates_request(
            requests[1] if requests else AiohttpRequest(repeat_for=GET_UPDATES_REPEAT_FOR)
        )
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    application = builder.build()
    application.bot_data[SERVICES_KEY] = svc
    register_handlers(application)
    return application


def open_services(config: Config) -> Services:
    """Load the knowledge base and open the database; errors are one clear line."""
    result = check_file(config.knowledge.path)
    if result.loaded is None:
        details = "\n".join(str(problem) for problem in result.problems)
        raise StartError(f"the knowledge base has problems:\n{details}")
    # Quality findings (a question another entry answers) never keep the bot
    # down: it starts, and says where a curator should look.
    for problem in result.problems:
        log.warning("knowledge base warning: %s", problem)
    try:
        engine = Engine(result.loaded, config.matching)
    except PolicyError as error:
        raise StartError(str(error)) from None
    try:
        storage = Recorder(config.storage.path, config.storage.retention_days)
    except StorageError as error:
        raise StartError(str(error)) from None
    storage.prune()
    return Services(
        engine=engine,
        reloader=Reloader(engine, config.knowledge.path),
        storage=storage,
        admins=frozenset(config.telegram.admins),
        topics=RecentTopics(
            config.conversation.context_minutes, most=config.conversation.context_chats
        ),
    )


class StartError(Exception):
    """The bot cannot start; the message says why in a sentence."""


async def _check_token(config: Config) -> None:
    """One getMe before anything starts, so a bad token is one clear line, not a traceback.

    Inside run_polling, python-telegram-bot logs a rejected token with its
    traceback before the exception reaches us.
    """
    assert config.telegram.token is not None
    try:
        async with Bot(
            config.telegram.token, base_url=config.telegram.base_url, request=AiohttpRequest()
        ) as bot:
            await bot.get_me()
    except InvalidToken:
        raise StartError("Telegram rejected the token (check [telegram] token)") from None
    except NetworkError as error:
        raise StartError(
            f"cannot reach the Bot API at {config.telegram.base_url}: {error}"
        ) from None


def run_bot(config: Config) -> int:
    """`faqbot run`: long polling, or a webhook when `[webhook]` is configured."""
    token = config.telegram.token
    setup_logging(TokenFilter(token))
    if not token:
        print(
            "faqbot: no Telegram token: set [telegram] token in the config or "
            "the TELEGRAM_BOT_TOKEN environment variable (see README: Create the bot)",
            file=sys.stderr,
        )
        return 2
    try:
        # Local problems first: a broken knowledge base or database needs no Telegram.
        svc = open_services(config)
    except StartError as error:
        print(f"faqbot: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_check_token(config))
    except StartError as error:
        svc.storage.close()
        print(f"faqbot: {TokenFilter(token).mask(str(error))}", file=sys.stderr)
        return 2
    application = build_application(config, svc)
    try:
        if config.webhook is None:
            application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
        else:
            hook = config.webhook
            application.run_webhook(
                listen=hook.listen,
                port=hook.port,
                url_path=hook.path,
                webhook_url=f"{hook.url.rstrip('/')}/{hook.path}",
                secret_token=hook.secret_token,
                allowed_updates=ALLOWED_UPDATES,
            )
    except InvalidToken:
        print("faqbot: Telegram rejected the token (check [telegram] token)", file=sys.stderr)
        return 2
    except BadRequest as error:  # a subclass of NetworkError, but Telegram did answer
        message = TokenFilter(token).mask(str(error))
        print(f"faqbot: Telegram refused a start-up request: {message}", file=sys.stderr)
        return 2
    except NetworkError as error:
        message = TokenFilter(token).mask(str(error))
        print(
            f"faqbot: cannot reach the Bot API at {config.telegram.base_url}: {message}",
            file=sys.stderr,
        )
        return 2
    finally:
        svc.storage.close()
    return 0
