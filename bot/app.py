"""Wire python-telegram-bot: the Application, its handlers, and how it runs.

Handler registration is one block in `register_handlers`, in the order that
matters. Start-up work (command menus, descriptions) happens in `post_init`;
the knowledge base watcher and SIGHUP reloads live as long as the application.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import sys
from collections.abc import Awaitable
from typing import Any

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError
from telegram.ext import (
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

from bot.aiohttp_request import AiohttpRequest
from bot.config import Config
from bot.logs import TokenFilter, setup_logging
from bot.proxies import ProxySettingError
from bot.rate_limiter import PrivateChatRateLimiter
from bot.storage import Recorder, StorageError
from handlers import admin, buttons, conversation, errors, inline
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
        # Both clients given: python-telegram-bot would make an httpx one for
        # getUpdates, which fails on a SOCKS proxy in the environment.
        async with Bot(
            config.telegram.token,
            base_url=config.telegram.base_url,
            request=AiohttpRequest(),
            get_updates_request=AiohttpRequest(),
        ) as bot:
            await bot.get_me()
    except InvalidToken:
        raise StartError("Telegram rejected the token (check [telegram] token)") from None
    except ProxySettingError as error:  # a proxy variable the bot cannot use
        raise StartError(str(error)) from None
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
