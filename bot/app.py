"""Wire python-telegram-bot: the Application, its handlers, and how it runs.

Handler registration is one block in `register_handlers`, in the order that
matters. Start-up work (command menus, descriptions) happens in `post_init`;
the knowledge base watcher and SIGHUP reloads (both `bot.reloads`, as /reload
is) live as long as the application. Handlers get a typed `FaqContext`
(`handlers.services`), whose services `open_backend` makes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import sys
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    ExtBot,
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
from bot.reloads import KnowledgeReloads
from bot.reporting import LoggedReviews
from bot.storage import Recorder, StorageError
from handlers import admin, buttons, conversation, errors, inline
from handlers.services import CONTEXT_TYPES, BotData, FaqContext, Services
from handlers.topics import RecentTopics
from knowledge.check import KnowledgeUnusable, open_engine
from knowledge.reload import Reloader
from knowledge.schema import COMMAND_ENTRIES

log = logging.getLogger("faqbot")

# The application as build_application makes it: every handler gets a FaqContext
# and bot_data is a BotData, so mypy checks each handler against them.
FaqApplication = Application[ExtBot[Any], FaqContext, dict[Any, Any], dict[Any, Any], BotData, Any]

# The updates the bot handles; Telegram sends no others (no member or reaction updates).
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
PRUNE_EVERY = 6 * 3600.0
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


def register_handlers(application: FaqApplication) -> None:
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


async def _prune_daily(storage: Recorder) -> None:
    """Apply the retention period while the bot runs for months, not only at start."""
    while True:
        await asyncio.sleep(PRUNE_EVERY)
        try:
            removed = await asyncio.to_thread(storage.prune)
        except sqlite3.Error as error:  # try again next time
            log.warning("pruning old rows failed: %s", error)
            continue
        if removed:
            log.info("pruned %d rows older than the retention period", removed)


def build_application(
    config: Config,
    backend: Backend,
    *,
    requests: tuple[BaseRequest, BaseRequest] | None = None,
) -> FaqApplication:
    """The configured Application, handlers registered, not yet started.

    `requests` (the HTTP client for everything, and the one for getUpdates)
    replaces the bot's own only for bench/bench_http_client.py, which
    compares it with python-telegram-bot's HTTPXRequest on the same bot.
    """
    assert config.telegram.token is not None
    svc = backend.services

    # Tasks that live as long as the application: pruning, and the file watcher.
    background: list[asyncio.Task[None]] = []

    async def post_init(application: FaqApplication) -> None:
        # SIGHUP reloads from here on; one that came while the bot was starting
        # (held by `hold_reload_requests`) is carried out now, not lost.
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, backend.reloads.start, application.bot)
            if _EARLY_RELOAD.is_set():
                _EARLY_RELOAD.clear()
                backend.reloads.start(application.bot)
        # Through the reloads, so that no reload's menus can cross these.
        await backend.reloads.publish_menus(application.bot)
        me = application.bot
        knowledge = svc.engine.knowledge
        log.info(
            "faqbot started as @%s with %d entries and %d questions",
            me.username,
            len(knowledge.entries),
            knowledge.question_count,
        )
        background.append(asyncio.create_task(_prune_daily(backend.storage)))
        if config.knowledge.watch:
            watch = backend.reloads.watch(application.bot, config.knowledge.watch_interval)
            background.append(asyncio.create_task(watch))

    async def post_shutdown(application: FaqApplication) -> None:
        for task in background:
            task.cancel()
        background.clear()
        backend.reloads.cancel()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        # Removing the handler restores SIGHUP's default, which ends the process:
        # a reload asked for while the bot flushes its records must not kill it.
        hold_reload_requests()

    builder = (
        Application.builder()
        .token(config.telegram.token)
        .base_url(config.telegram.base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=None))
        # Handlers get a FaqContext, whose `services` mypy checks (handlers/services.py).
        .context_types(CONTEXT_TYPES)
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
    application.bot_data.services = svc
    register_handlers(application)
    return application


@dataclass(frozen=True)
class Backend:
    """What `faqbot run` opens before it talks to Telegram: the handlers' services,
    and the recorder behind them, which is closed when the bot stops."""

    services: Services
    storage: Recorder
    reloads: KnowledgeReloads

    def close(self) -> None:
        self.storage.close()


def open_backend(config: Config) -> Backend:
    """Load the knowledge base and open the database; errors are one clear line."""
    try:
        engine, findings = open_engine(config.knowledge.path, config.matching)
    except KnowledgeUnusable as error:
        raise StartError(str(error)) from None
    # Quality findings (a question another entry answers) never keep the bot
    # down: it starts, and says where a curator should look.
    for problem in findings:
        log.warning("knowledge base warning: %s", problem)
    try:
        storage = Recorder(config.storage.path, config.storage.retention_days)
    except StorageError as error:
        raise StartError(str(error)) from None
    storage.prune()
    admins = frozenset(config.telegram.admins)
    reloads = KnowledgeReloads(Reloader(engine, config.knowledge.path), admins)
    services = Services(
        engine=engine,
        reloads=reloads,
        records=storage,
        reviews=LoggedReviews(storage, engine),
        admins=admins,
        topics=RecentTopics(
            config.conversation.context_minutes, most=config.conversation.context_chats
        ),
    )
    return Backend(services, storage, reloads)


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


# A SIGHUP that arrived before the event loop could reload (see hold_reload_requests).
_EARLY_RELOAD = threading.Event()


def hold_reload_requests() -> None:
    """Keep a SIGHUP for later instead of dying of it.

    SIGHUP's default action ends the process, and systemd counts that as a
    clean exit, so `Restart=on-failure` would leave the bot down after a
    `systemctl reload` sent while it loads the knowledge base, checks the
    token or publishes its menus (each Bot API call may wait out the retry
    window). Until the event loop takes SIGHUP over, it is only noted; the
    loop then reloads once (`post_init`).
    """
    with contextlib.suppress(ValueError, AttributeError):  # not the main thread; no SIGHUP
        signal.signal(signal.SIGHUP, lambda _signal, _frame: _EARLY_RELOAD.set())


def run_bot(config: Config) -> int:
    """`faqbot run`: long polling, or a webhook when `[webhook]` is configured."""
    hold_reload_requests()
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
        backend = open_backend(config)
    except StartError as error:
        print(f"faqbot: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_check_token(config))
    except StartError as error:
        backend.close()
        print(f"faqbot: {TokenFilter(token).mask(str(error))}", file=sys.stderr)
        return 2
    application = build_application(config, backend)
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
        backend.close()
    return 0
