"""A strict fake of the Telegram Bot API, served over real HTTP on 127.0.0.1.

Why a fake server instead of mocking ``telegram.Bot``: the bot under test then
runs python-telegram-bot's real request code (form encoding, JSON-encoded
nested fields, error mapping to ``BadRequest``/``RetryAfter``/``Forbidden``,
long polling), and every request is checked against the rules Telegram
enforces.  A reply that Telegram would refuse (bad HTML, a 65-byte
callback_data, a 4097-character text, answering a callback query twice...)
is refused here too, with Telegram's status code and description, and is
listed by :meth:`FakeBotAPI.errors` so a test can assert the bot made none.

Usage::

    async with FakeBotAPI() as api:
        app = Application.builder().token(api.token).base_url(api.base_url).build()
        api.message("/start")
        ...
        [call] = await api.wait_for("sendMessage")
        assert api.errors() == []

State the tests can drive:

* updates: :meth:`message`, :meth:`sticker`, :meth:`photo`, :meth:`voice`,
  :meth:`callback`, :meth:`inline_query` build realistic updates;
  :meth:`push_update` queues any dict.  A chat exists for the bot only once an
  update mentioned it, as on Telegram ("chat not found" otherwise).
* faults: :meth:`fail` (any status, e.g. 429 with ``retry_after``, 403 for one
  blocked chat forever), :meth:`delay` (slow answers, to provoke client
  timeouts; the request is still carried out, as on Telegram), :meth:`drop`
  (connection closed without an answer, before or after carrying it out),
  :meth:`flood_limit` (per-chat rate limit answering 429), and
  :meth:`random_faults` (each call of a method fails at random, seeded, in
  the ways above, for runs of hundreds of updates; counted in ``injected``).

Simplifications, all deliberate: no webhooks are ever called (setWebhook only
blocks getUpdates, as on Telegram), Markdown parse modes are not validated,
inline messages (``inline_message_id``) are unknown, callback and inline
queries never expire with time, and updates of a type excluded by
``allowed_updates`` are dropped when getUpdates runs rather than never created.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import random
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.auxil import bot_api_rules as rules
from tests.auxil.bot_api_rules import BotAPIError, bad_request
from tests.auxil.telegram_html import ParsedText, utf16_len

__all__ = [
    "BOT_USERNAME",
    "DEFAULT_GROUP_ID",
    "DEFAULT_SUPERGROUP_ID",
    "DEFAULT_USER_ID",
    "Call",
    "FakeBotAPI",
    "RandomFaults",
]

BOT_USERNAME = "faq_test_bot"
BOT_FIRST_NAME = "FAQ Test Bot"
DEFAULT_BOT_ID = 7_000_000_001
DEFAULT_USER_ID = 100_200_300
DEFAULT_GROUP_ID = -4_100_200_300
DEFAULT_SUPERGROUP_ID = -1_001_002_003_004

QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
TERMINATED_BY_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

#: Update types delivered when allowed_updates was never given or was [].
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

_SEND_METHODS = frozenset({"sendMessage", "sendContact"})
_SENT_MESSAGE_METHODS = ("sendMessage", "sendContact", "editMessageText")
_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_MENTION_RE = re.compile(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)")

Handler = Callable[["_Params"], Awaitable[Any]]


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it.

    ``params`` holds the decoded parameters (form values stay strings, nested
    JSON fields such as reply_markup are decoded).  ``simulated`` is True for
    failures the test arranged (fail/drop/flood_limit) or that only a client
    which already went away could see; :meth:`FakeBotAPI.errors` skips those.
    ``status`` is the HTTP status sent, 0 when the connection was dropped.
    ``result`` is what a successful call returned (e.g. the Message dict).
    """

    method: str
    params: dict[str, Any]
    ok: bool
    error: str | None = None
    status: int = 200
    result: Any = None
    simulated: bool = False


@dataclass
class _Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    remaining: int | None
    chat_id: str | None
    raw_body: str | None


@dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int | None


@dataclass
class _Drop:
    method: str
    remaining: int | None
    after_processing: bool


NGINX_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass(frozen=True)
class RandomFaults:
    """The chance (0-1) that a call meets each fault; at most one fault a call.

    All but ``withheld`` happen before the request is carried out, so
    Telegram did nothing: a 429 (``retry_after`` 1 s), a 500 in the Bot
    API's JSON, a 502 as nginx's HTML page, a connection closed without an
    answer. ``withheld`` carries the request out (the message is sent) and
    then holds the answer ``withheld_for`` seconds, past a client's read
    timeout.
    """

    too_many_requests: float = 0.0
    server_error: float = 0.0
    bad_gateway: float = 0.0
    dropped: float = 0.0
    withheld: float = 0.0
    withheld_for: float = 6.0

    def pick(self, roll: float) -> str | None:
        """The fault a roll in [0, 1) falls on, or None."""
        for name in ("too_many_requests", "server_error", "bad_gateway", "dropped", "withheld"):
            chance: float = getattr(self, name)
            if roll < chance:
                return name
            roll -= chance
        return None


@dataclass
class _Poll:
    request: web.Request
    terminated: bool = False


class _Params:
    """Typed access to request parameters with Telegram-like refusals."""

    def __init__(self, data: dict[str, Any], request: web.Request) -> None:
        self.data = data
        self.request = request

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def has(self, name: str) -> bool:
        return self.data.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, dict | list):
            raise bad_request(f'parameter "{name}" must be a string')
        return str(value)

    def required_text(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise bad_request(f'parameter "{name}" is required')
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise bad_request(f'parameter "{name}" must be a number')
        try:
            return int(value) if not isinstance(value, str) else int(float(value))
        except ValueError as exc:
            raise bad_request(f'parameter "{name}" must be a number') from exc

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        lowered = str(value).lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise bad_request(f'parameter "{name}" must be a Boolean')


class FakeBotAPI:
    """The fake server; see the module docstring for what it does and why."""

    def __init__(
        self,
        *,
        bot_id: int = DEFAULT_BOT_ID,
        username: str = BOT_USERNAME,
        first_name: str = BOT_FIRST_NAME,
        host: str = "127.0.0.1",
        strict_html: bool = True,
    ) -> None:
        """``strict_html=False`` turns off the two HTML rules stricter than Telegram.

        Those are: a bare ``&`` that starts no entity, and ``<a>`` without
        ``href`` (see tests/auxil/telegram_html.py for why they are on).
        """
        self._host = host
        self._strict_html = strict_html
        self._port: int | None = None
        self._token = f"{bot_id}:AA{secrets.token_urlsafe(24)[:33]}"
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._wakeup = asyncio.Event()
        self._call_event = asyncio.Event()
        self.calls: list[Call] = []
        # Updates and acknowledgement.
        self._queue: list[dict[str, Any]] = []
        self._next_update_id = 100_000_001
        self.confirmed_offset = 0
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._poll: _Poll | None = None
        self._webhook: dict[str, Any] = {"url": ""}
        # What the bot can see.
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._last_message_id: dict[int, int] = {}
        self._delivered_queries: set[str] = set()
        self._answered_queries: set[str] = set()
        self._query_counter = 0
        self._file_counter = 0
        # Bot settings.
        self._commands: dict[tuple[tuple[Any, ...], str], list[dict[str, str]]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        # Fault injection.
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._drops: list[_Drop] = []
        self._flood_per_second: int | None = None
        self._flood_group_per_minute: int | None = None
        self._sent_at: dict[int, deque[float]] = {}
        self._random_faults: dict[str, tuple[RandomFaults, random.Random]] = {}
        #: Faults random_faults injected so far, by (method, fault name).
        self.injected: Counter[tuple[str, str]] = Counter()
        self._handlers: dict[str, tuple[str, Handler]] = self._method_table()

    # ------------------------------------------------------------------ life

    async def start(self) -> FakeBotAPI:
        """Bind to a free port on 127.0.0.1 and start answering."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._closing = False
        return self

    async def stop(self) -> None:
        """Answer pending long polls and delays at once, then shut down."""
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def token(self) -> str:
        """The only token this server accepts."""
        return self._token

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For ``Bot(token, base_url=...)``: PTB appends the token and method."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    # ---------------------------------------------------------- call record

    def calls_to(self, method: str) -> list[Call]:
        """All calls of one method (name compared case-insensitively)."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def errors(self) -> list[Call]:
        """Calls Telegram would have refused because of the bot (not simulated faults)."""
        return [call for call in self.calls if not call.ok and not call.simulated]

    def sent_messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Params of successful sendMessage/sendContact/editMessageText calls, in order."""
        return [
            call.params
            for call in self.calls
            if call.ok
            and call.method in _SENT_MESSAGE_METHODS
            and (chat_id is None or _same_id(call.params.get("chat_id"), chat_id))
        ]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Current state (after edits, without deleted ones) of the bot's messages in a chat."""
        messages = self._messages.get(int(chat_id), {})
        return [
            copy.deepcopy(message)
            for _, message in sorted(messages.items())
            if message["from"]["id"] == self.bot_id
        ]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` match ``predicate``; return all matches.

        Raises TimeoutError listing the calls seen, so a failing test says what
        the bot did instead.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._call_event
            matches = [c for c in self.calls_to(method) if predicate is None or predicate(c)]
            if len(matches) >= count:
                return matches
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [(c.method, c.ok, c.error) for c in self.calls if c.method != "getUpdates"]
                raise TimeoutError(
                    f"waited {timeout}s for {count} matching {method} call(s), "
                    f"got {len(matches)}; calls other than getUpdates: {seen}"
                )
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._call_event.set()
        self._call_event = asyncio.Event()

    # ------------------------------------------------------- fault injection

    def fail(
        self,
        method: str,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        chat_id: int | str | None = None,
        *,
        raw_body: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"``: any) with an error.

        ``times=None`` means for ever, e.g. a user who blocked the bot::

            api.fail("*", 403, "Forbidden: bot was blocked by the user",
                     times=None, chat_id=user_id)

        A 429 carries ``parameters.retry_after`` as Telegram sends it (default 1 s).
        ``chat_id`` restricts the fault to calls for that chat.  ``raw_body``
        replaces the JSON body (e.g. nginx's HTML page for a 502).
        """
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        if description is None:
            description = _default_description(status, retry_after)
        self._faults.append(
            _Fault(
                method=method.lower(),
                status=status,
                description=description,
                retry_after=retry_after,
                remaining=times,
                chat_id=None if chat_id is None else str(chat_id),
                raw_body=raw_body,
            )
        )

    def delay(self, method: str, seconds: float, times: int | None = 1) -> None:
        """Hold the next ``times`` answers to ``method`` for ``seconds``.

        The request is still carried out afterwards, as Telegram carries out a
        request whose client timed out: this is how duplicate sends happen.
        """
        self._delays.append(_Delay(method.lower(), seconds, times))

    def drop(self, method: str, times: int | None = 1, *, after_processing: bool = False) -> None:
        """Close the connection without answering the next ``times`` calls.

        With ``after_processing`` the request is carried out first (the answer
        is lost on the way back); otherwise it never reaches "Telegram".
        """
        self._drops.append(_Drop(method.lower(), times, after_processing))

    def flood_limit(
        self,
        per_chat_per_second: int | None = 1,
        *,
        per_group_per_minute: int | None = 20,
    ) -> None:
        """Switch on Telegram-like flood control for sendMessage/sendContact.

        Telegram allows about one message per second in a chat (short bursts
        pass) and about 20 per minute in a group.  The fake keeps it simple:
        more than ``per_chat_per_second`` successful sends to one chat within a
        sliding second, or more than ``per_group_per_minute`` to one group
        within a sliding minute, answer 429 with ``retry_after``.  Call
        ``flood_limit(None, per_group_per_minute=None)`` to switch it off.
        """
        self._flood_per_second = per_chat_per_second
        self._flood_group_per_minute = per_group_per_minute

    def random_faults(self, method: str, faults: RandomFaults, seed: int = 0) -> None:
        """From now on, each call of ``method`` meets one of ``faults`` by chance.

        Seeded, so a run can be repeated; ``injected`` counts what was hit.
        """
        self._random_faults[method.lower()] = (faults, random.Random(f"{seed}:{method}"))

    def clear_faults(self) -> None:
        """Forget every fail/delay/drop rule and random fault (flood limits stay)."""
        self._random_faults.clear()
        self._faults.clear()
        self._delays.clear()
        self._drops.clear()

    # --------------------------------------------------------------- updates

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (an update_id is assigned if missing); return it.

        Chats, users, messages and query ids in it become known to the fake,
        so the bot may answer them.
        """
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self._learn(update)
        self._queue.append(update)
        self._wake()
        return copy.deepcopy(update)

    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        return len(self._queue)

    def message(
        self,
        text: str,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Ana",
        chat_type: str = "private",
        reply_to_bot: bool = False,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A text message from a user; commands and @mentions get their entities."""
        content: dict[str, Any] = {"text": text}
        found = detect_entities(text) if entities is None else entities
        if found:
            content["entities"] = found
        return self._user_message(
            content, user_id, chat_id, language_code, first_name, chat_type, reply_to_bot
        )

    def sticker(
        self,
        emoji: str = "👍",
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Ana",
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """A regular static sticker message."""
        file_id, unique_id = self._file_ids("CAACAgIAAxkBAAE")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "AnimalsSet",
            "file_size": 24_000,
        }
        return self._user_message(
            {"sticker": sticker}, user_id, chat_id, language_code, first_name, chat_type, False
        )

    def photo(
        self,
        caption: str | None = None,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Ana",
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """A photo message with three sizes, optionally captioned."""
        sizes = []
        for width, height, size in ((90, 67, 1_200), (320, 240, 15_000), (800, 600, 60_000)):
            file_id, unique_id = self._file_ids("AgACAgIAAxkBAAE")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "width": width,
                    "height": height,
                    "file_size": size,
                }
            )
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._user_message(
            content, user_id, chat_id, language_code, first_name, chat_type, False
        )

    def voice(
        self,
        duration: int = 3,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Ana",
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """A voice note."""
        file_id, unique_id = self._file_ids("AwACAgIAAxkBAAE")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 8_000 * duration,
        }
        return self._user_message(
            {"voice": voice}, user_id, chat_id, language_code, first_name, chat_type, False
        )

    def callback(
        self,
        data: str,
        message: dict[str, Any] | int | None = None,
        user_id: int | None = None,
        *,
        chat_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Ana",
        check_buttons: bool = True,
    ) -> str:
        """A press on an inline button of a message the bot sent; returns the query id.

        ``message`` is a Message dict (e.g. ``call.result``), a message_id in
        ``chat_id`` (default: the user's private chat), or None for the bot's
        latest message with an inline keyboard there.  Like a real client, the
        press can only carry callback_data that the message's current keyboard
        has (``check_buttons=False`` lifts that, to simulate stale data).
        """
        target = self._callback_target(message, chat_id, user_id)
        if check_buttons and data not in _callback_datas(target):
            raise ValueError(
                f"message {target['message_id']} has no button with callback_data {data!r}; "
                f"it has {sorted(_callback_datas(target))}"
            )
        chat = target["chat"]
        if user_id is None:
            user_id = chat["id"] if chat["type"] == "private" else DEFAULT_USER_ID
        query_id = self._next_query_id()
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id, first_name, language_code),
                    "message": target,
                    "chat_instance": str(-(abs(chat["id"]) * 7919 % 10**18) - 1),
                    "data": data,
                }
            }
        )
        return query_id

    def inline_query(
        self,
        query: str,
        user_id: int = DEFAULT_USER_ID,
        *,
        offset: str = "",
        chat_type: str = "sender",
        language_code: str | None = "en",
        first_name: str = "Ana",
    ) -> str:
        """An inline query ("@faq_test_bot query" typed in any chat); returns its id."""
        query_id = self._next_query_id()
        self.push_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": self._user(user_id, first_name, language_code),
                    "query": query,
                    "offset": offset,
                    "chat_type": chat_type,
                }
            }
        )
        return query_id

    # ------------------------------------------------------ update internals

    def _user_message(
        self,
        content: dict[str, Any],
        user_id: int,
        chat_id: int | None,
        language_code: str | None,
        first_name: str,
        chat_type: str,
        reply_to_bot: bool,
    ) -> dict[str, Any]:
        user = self._user(user_id, first_name, language_code)
        chat = _chat_dict(chat_type, chat_id, user)
        message: dict[str, Any] = {
            "message_id": self._last_message_id.get(chat["id"], 0) + 1,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        if reply_to_bot:
            previous = self.bot_messages(chat["id"])
            if not previous:
                raise ValueError(f"the bot has sent nothing in chat {chat['id']} to reply to")
            message["reply_to_message"] = _without_reply(previous[-1])
        return self.push_update({"message": message})

    def _user(self, user_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def _callback_target(
        self, message: dict[str, Any] | int | None, chat_id: int | None, user_id: int | None
    ) -> dict[str, Any]:
        if isinstance(message, dict):
            chat_id, message_id = int(message["chat"]["id"]), int(message["message_id"])
        else:
            chat_id = chat_id if chat_id is not None else (user_id or DEFAULT_USER_ID)
            message_id = message if isinstance(message, int) else None
        stored = self._messages.get(chat_id, {})
        if message_id is None:
            with_keyboard = [m for m in self.bot_messages(chat_id) if _callback_datas(m)]
            if not with_keyboard:
                raise ValueError(f"the bot has no message with callback buttons in chat {chat_id}")
            return with_keyboard[-1]
        if message_id not in stored:
            raise ValueError(f"no message {message_id} in chat {chat_id} (never sent or deleted)")
        target = stored[message_id]
        if target["from"]["id"] != self.bot_id:
            raise ValueError(f"message {message_id} in chat {chat_id} was not sent by the bot")
        return copy.deepcopy(target)

    def _next_query_id(self) -> str:
        self._query_counter += 1
        return str(4_382_000_000_000_000_000 + self._query_counter * 7_919)

    def _file_ids(self, prefix: str) -> tuple[str, str]:
        self._file_counter += 1
        return f"{prefix}{self._file_counter:06d}", f"AQAD{self._file_counter:06d}"

    def _learn(self, update: dict[str, Any]) -> None:
        """Remember what an update shows the bot: chats, users, messages, query ids."""
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            if isinstance(update.get(key), dict):
                self._learn_message(update[key], edited=key.startswith("edited_"))
        for key in ("callback_query", "inline_query"):
            query = update.get(key)
            if isinstance(query, dict):
                if isinstance(query.get("from"), dict):
                    self._users[query["from"]["id"]] = query["from"]
                if isinstance(query.get("message"), dict):
                    self._learn_chat(query["message"]["chat"])
        for key in ("my_chat_member", "chat_member", "chat_join_request"):
            if isinstance(update.get(key), dict) and "chat" in update[key]:
                self._learn_chat(update[key]["chat"])

    def _learn_message(self, message: dict[str, Any], *, edited: bool) -> None:
        chat = message["chat"]
        message_id = int(message["message_id"])
        if not edited and message_id in self._messages.get(chat["id"], {}):
            raise ValueError(f"message_id {message_id} is already used in chat {chat['id']}")
        self._learn_chat(chat)
        if isinstance(message.get("from"), dict):
            self._users[message["from"]["id"]] = message["from"]
        self._messages.setdefault(chat["id"], {})[message_id] = copy.deepcopy(message)
        last = self._last_message_id.get(chat["id"], 0)
        self._last_message_id[chat["id"]] = max(last, message_id)

    def _learn_chat(self, chat: dict[str, Any]) -> None:
        self._chats[int(chat["id"])] = copy.deepcopy(chat)

    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    # -------------------------------------------------------------- dispatch

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        """Route ``/bot<token>/<method>``, apply faults, validate, answer, record."""
        token, method = _split_path(request.path)
        if token is None:
            return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if token != self._token:
            error = BotAPIError("Unauthorized", 401)
            self._record(Call(method, {}, False, error.description, 401))
            return _json_response(401, error.body())
        entry = self._handlers.get(method.lower())
        if entry is None:
            self._record(Call(method, {}, False, "Not Found", 404))
            return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        method, handler = entry
        try:
            params = await _read_params(request)
        except BotAPIError as error:
            self._record(Call(method, {}, False, error.description, error.status))
            return _json_response(error.status, error.body())
        return await self._answer(request, method, handler, params)

    async def _answer(
        self, request: web.Request, method: str, handler: Handler, params: dict[str, Any]
    ) -> web.StreamResponse:
        chance = self._random_faults.get(method.lower())
        if chance is not None:
            faults, rng = chance
            picked = faults.pick(rng.random())
            if picked is not None:
                self.injected[(method, picked)] += 1
                if picked == "withheld":
                    response = await self._carry_out(request, method, handler, params)
                    await self._sleep(faults.withheld_for)
                    return response
                return self._random_failure(request, method, params, picked)
        return await self._carry_out(request, method, handler, params)

    def _random_failure(
        self, request: web.Request, method: str, params: dict[str, Any], picked: str
    ) -> web.Response:
        if picked == "dropped":
            self._record(Call(method, params, False, "connection dropped", 0, simulated=True))
            return _abort(request)
        status = {"too_many_requests": 429, "server_error": 500, "bad_gateway": 502}[picked]
        retry_after = 1 if status == HTTPStatus.TOO_MANY_REQUESTS else None
        fault = _Fault(
            method=method.lower(),
            status=status,
            description=_default_description(status, retry_after),
            retry_after=retry_after,
            remaining=None,
            chat_id=None,
            raw_body=NGINX_502 if status == HTTPStatus.BAD_GATEWAY else None,
        )
        return self._fault_response(method, params, fault)

    async def _carry_out(
        self, request: web.Request, method: str, handler: Handler, params: dict[str, Any]
    ) -> web.StreamResponse:
        drop = self._take_drop(method)
        if drop is not None and not drop.after_processing:
            self._record(Call(method, params, False, "connection dropped", 0, simulated=True))
            return _abort(request)
        await self._apply_delay(method)
        fault = self._take_fault(method, params)
        if fault is not None:
            return self._fault_response(method, params, fault)
        try:
            self._check_flood(method, params)
            result = await handler(_Params(params, request))
        except BotAPIError as error:
            self._record(
                Call(
                    method,
                    params,
                    False,
                    error.description,
                    error.status,
                    simulated=error.simulated,
                )
            )
            return _json_response(error.status, error.body())
        except Exception as exc:  # a bug in the fake must fail the test loudly
            description = f"Internal Server Error: fake_bot_api crashed: {exc!r}"
            self._record(Call(method, params, False, description, 500))
            return _json_response(500, {"ok": False, "error_code": 500, "description": description})
        self._note_sent(method, params)
        self._record(Call(method, params, True, result=copy.deepcopy(result)))
        if drop is not None:
            return _abort(request)
        return _json_response(200, {"ok": True, "result": result})

    def _take_drop(self, method: str) -> _Drop | None:
        for drop in self._drops:
            if drop.method in ("*", method.lower()) and _consume(drop):
                return drop
        return None

    async def _apply_delay(self, method: str) -> None:
        for rule in self._delays:
            if rule.method in ("*", method.lower()) and _consume(rule):
                await self._sleep(rule.seconds)
                return

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when the server stops."""
        deadline = time.monotonic() + seconds
        while not self._closing and (remaining := deadline - time.monotonic()) > 0:
            wakeup = self._wakeup
            try:
                await asyncio.wait_for(wakeup.wait(), remaining)
            except TimeoutError:
                return

    def _take_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.method not in ("*", method.lower()):
                continue
            if fault.chat_id is not None and not _same_id(params.get("chat_id"), fault.chat_id):
                continue
            if _consume(fault):
                return fault
        return None

    def _fault_response(self, method: str, params: dict[str, Any], fault: _Fault) -> web.Response:
        self._record(Call(method, params, False, fault.description, fault.status, simulated=True))
        if fault.raw_body is not None:
            return web.Response(status=fault.status, text=fault.raw_body, content_type="text/html")
        parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
        error = BotAPIError(fault.description, fault.status, parameters)
        return _json_response(fault.status, error.body())

    def _check_flood(self, method: str, params: dict[str, Any]) -> None:
        if method not in _SEND_METHODS:
            return
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is None:
            return
        now = time.monotonic()
        sent = self._sent_at.setdefault(chat_id, deque())
        while sent and now - sent[0] > 60:
            sent.popleft()
        last_second = [t for t in sent if now - t < 1]
        if self._flood_per_second is not None and len(last_second) >= self._flood_per_second:
            raise _too_many_requests(1)
        if (
            self._flood_group_per_minute is not None
            and chat_id < 0
            and (len(sent) >= self._flood_group_per_minute)
        ):
            raise _too_many_requests(max(1, math.ceil(60 - (now - sent[0]))))

    def _note_sent(self, method: str, params: dict[str, Any]) -> None:
        chat_id = _as_int(params.get("chat_id"))
        if method in _SEND_METHODS and chat_id is not None:
            self._sent_at.setdefault(chat_id, deque()).append(time.monotonic())

    # ------------------------------------------------------------ the methods

    def _method_table(self) -> dict[str, tuple[str, Handler]]:
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "getMyDescription": self._get_my_description,
            "getMyShortDescription": self._get_my_short_description,
            "sendMessage": self._send_message,
            "sendContact": self._send_contact,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "close": self._true,
            "logOut": self._true,
        }
        return {name.lower(): (name, handler) for name, handler in handlers.items()}

    async def _true(self, p: _Params) -> bool:
        return True

    async def _get_me(self, p: _Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # getUpdates ---------------------------------------------------------------

    async def _get_updates(self, p: _Params) -> list[dict[str, Any]]:
        """Long polling with Telegram's offset/limit/timeout/allowed_updates rules."""
        if self._webhook["url"]:
            raise BotAPIError(WEBHOOK_ACTIVE, 409)
        offset = p.integer("offset", 0) or 0
        limit = min(max(p.integer("limit", 100) or 100, 1), 100)
        timeout = max(p.integer("timeout", 0) or 0, 0)
        if "allowed_updates" in p.data:
            self._set_allowed_updates(p.get("allowed_updates"))
        self._confirm(offset)
        if self._poll is not None:
            self._poll.terminated = True
            self._wake()
        poll = _Poll(p.request)
        self._poll = poll
        try:
            batch = await self._wait_for_updates(poll, limit, timeout)
        finally:
            if self._poll is poll:
                self._poll = None
        if poll.terminated:
            gone = await _client_gone_soon(poll.request)
            raise BotAPIError(TERMINATED_BY_OTHER_POLL, 409, simulated=gone)
        for update in batch:
            for key in ("callback_query", "inline_query"):
                if key in update:
                    self._delivered_queries.add(str(update[key]["id"]))
        return copy.deepcopy(batch)

    def _set_allowed_updates(self, allowed: Any) -> None:
        if allowed in (None, ""):
            return
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise bad_request("can't parse allowed_updates JSON object")
        self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES

    def _confirm(self, offset: int) -> None:
        """offset > 0 confirms updates below it; offset < 0 keeps only the last -offset."""
        if offset > 0:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
        elif offset < 0:
            self._queue = self._queue[offset:]

    async def _wait_for_updates(self, poll: _Poll, limit: int, timeout: int) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            wakeup = self._wakeup
            self._queue = [u for u in self._queue if _update_type(u) in self._allowed_updates]
            remaining = deadline - time.monotonic()
            if self._queue or poll.terminated or self._closing or remaining <= 0:
                return [] if poll.terminated else self._queue[:limit]
            try:
                await asyncio.wait_for(wakeup.wait(), remaining)
            except TimeoutError:
                continue

    # webhooks -------------------------------------------------------------------

    async def _set_webhook(self, p: _Params) -> bool:
        url = p.text("url") or ""
        if url and not url.lower().startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if p.boolean("drop_pending_updates"):
            self._queue.clear()
        self._webhook = {"url": url}
        return True

    async def _delete_webhook(self, p: _Params) -> bool:
        if p.boolean("drop_pending_updates"):
            self._queue.clear()
        self._webhook = {"url": ""}
        return True

    async def _get_webhook_info(self, p: _Params) -> dict[str, Any]:
        return {
            "url": self._webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    # commands and descriptions ---------------------------------------------------

    async def _set_my_commands(self, p: _Params) -> bool:
        if p.get("commands") is None:
            raise bad_request('parameter "commands" is required')
        commands = rules.check_commands(p.get("commands"))
        key = (self._scope_key(p.get("scope")), rules.check_language_code(p.get("language_code")))
        if commands:
            self._commands[key] = commands
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: _Params) -> list[dict[str, str]]:
        key = (self._scope_key(p.get("scope")), rules.check_language_code(p.get("language_code")))
        return copy.deepcopy(self._commands.get(key, []))

    async def _delete_my_commands(self, p: _Params) -> bool:
        key = (self._scope_key(p.get("scope")), rules.check_language_code(p.get("language_code")))
        self._commands.pop(key, None)
        return True

    def _scope_key(self, scope: Any) -> tuple[Any, ...]:
        """A BotCommandScope as a dict key; chat scopes must name a known chat."""
        if scope is None or scope == "":
            return ("default",)
        if not isinstance(scope, dict) or scope.get("type") not in rules.SCOPE_TYPES:
            raise bad_request("can't parse BotCommandScope: Unsupported type specified")
        kind = scope["type"]
        if kind not in ("chat", "chat_administrators", "chat_member"):
            return (kind,)
        chat = self._known_chat(scope.get("chat_id"))
        if kind != "chat" and chat["type"] == "private":
            raise bad_request("can't use specified scope in private chats")
        if kind == "chat_member":
            user_id = _as_int(scope.get("user_id"))
            if user_id is None or user_id <= 0:
                raise bad_request("invalid user_id specified")
            return (kind, chat["id"], user_id)
        return (kind, chat["id"])

    async def _set_my_description(self, p: _Params) -> bool:
        return self._set_description(p, "description", short=False)

    async def _set_my_short_description(self, p: _Params) -> bool:
        return self._set_description(p, "short_description", short=True)

    def _set_description(self, p: _Params, field: str, *, short: bool) -> bool:
        text = rules.check_description(p.get(field), short=short)
        key = (field, rules.check_language_code(p.get("language_code")))
        if text:
            self._descriptions[key] = text
        else:
            self._descriptions.pop(key, None)
        return True

    async def _get_my_description(self, p: _Params) -> dict[str, str]:
        return {"description": self._get_description(p, "description")}

    async def _get_my_short_description(self, p: _Params) -> dict[str, str]:
        return {"short_description": self._get_description(p, "short_description")}

    def _get_description(self, p: _Params, field: str) -> str:
        language = rules.check_language_code(p.get("language_code"))
        return self._descriptions.get((field, language), self._descriptions.get((field, ""), ""))

    # sending ------------------------------------------------------------------------

    async def _send_message(self, p: _Params) -> dict[str, Any]:
        parsed = self._format_text(p)
        markup = rules.check_reply_markup(p.get("reply_markup"))
        chat = self._target_chat(p)
        reply_to = self._reply_target(chat, p)
        content: dict[str, Any] = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = list(parsed.entities)
        return self._bot_message(chat, content, markup, reply_to)

    def _format_text(self, p: _Params) -> ParsedText:
        return rules.format_text(
            p.get("text"), p.get("parse_mode"), p.get("entities"), strict=self._strict_html
        )

    async def _send_contact(self, p: _Params) -> dict[str, Any]:
        contact = {
            "phone_number": p.required_text("phone_number"),
            "first_name": p.required_text("first_name"),
        }
        if p.has("last_name"):
            contact["last_name"] = p.text("last_name") or ""
        if p.has("vcard"):
            rules.check_vcard(p.get("vcard"))
            contact["vcard"] = p.text("vcard") or ""
        markup = rules.check_reply_markup(p.get("reply_markup"))
        chat = self._target_chat(p)
        reply_to = self._reply_target(chat, p)
        return self._bot_message(chat, {"contact": contact}, markup, reply_to)

    async def _send_chat_action(self, p: _Params) -> bool:
        rules.check_chat_action(p.get("action"))
        self._target_chat(p)
        return True

    def _target_chat(self, p: _Params) -> dict[str, Any]:
        return self._known_chat(p.get("chat_id"))

    def _known_chat(self, raw_chat_id: Any) -> dict[str, Any]:
        """The chat a chat_id names, refused as Telegram refuses unknown chats."""
        if raw_chat_id is None or raw_chat_id == "":
            raise bad_request("chat_id is empty")
        chat_id = _as_int(raw_chat_id)
        if chat_id is None:
            raise bad_request("chat not found")
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id in self._users:
            raise BotAPIError("Forbidden: bot can't initiate conversation with a user", 403)
        raise bad_request("chat not found")

    def _reply_target(self, chat: dict[str, Any], p: _Params) -> dict[str, Any] | None:
        params = p.get("reply_parameters")
        if params is None and p.has("reply_to_message_id"):
            params = {
                "message_id": p.integer("reply_to_message_id"),
                "allow_sending_without_reply": p.boolean("allow_sending_without_reply"),
            }
        if params is None or params == "":
            return None
        if not isinstance(params, dict) or _as_int(params.get("message_id")) is None:
            raise bad_request("can't parse reply parameters JSON object")
        chat_id = chat["id"]
        if params.get("chat_id") not in (None, ""):
            chat_id = self._known_chat(params["chat_id"])["id"]
        target = self._messages.get(chat_id, {}).get(int(params["message_id"]))
        if target is None:
            if params.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return _without_reply(target)

    def _bot_message(
        self,
        chat: dict[str, Any],
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        reply_to: dict[str, Any] | None,
    ) -> dict[str, Any]:
        message_id = self._last_message_id.get(chat["id"], 0) + 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
            **content,
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if markup is not None:
            message["reply_markup"] = markup
        self._messages.setdefault(chat["id"], {})[message_id] = message
        self._last_message_id[chat["id"]] = message_id
        return copy.deepcopy(message)

    # queries --------------------------------------------------------------------------

    async def _answer_callback_query(self, p: _Params) -> bool:
        query_id = p.required_text("callback_query_id")
        rules.check_callback_answer_text(p.get("text"))
        if (p.integer("cache_time", 0) or 0) < 0:
            raise bad_request("CACHE_TIME_INVALID")
        self._answer_query(query_id)
        return True

    async def _answer_inline_query(self, p: _Params) -> bool:
        query_id = p.required_text("inline_query_id")
        if p.get("results") is None:
            raise bad_request('parameter "results" is required')
        rules.check_inline_results(p.get("results"), strict=self._strict_html)
        rules.check_next_offset(p.get("next_offset"))
        rules.check_inline_button_parameter(p.get("button"))
        self._answer_query(query_id)
        return True

    def _answer_query(self, query_id: str) -> None:
        """A query can be answered once, and only after getUpdates delivered it."""
        if query_id not in self._delivered_queries or query_id in self._answered_queries:
            raise bad_request(QUERY_TOO_OLD)
        self._answered_queries.add(query_id)

    # editing and deleting ---------------------------------------------------------------

    async def _edit_message_text(self, p: _Params) -> dict[str, Any] | bool:
        parsed = self._format_text(p)
        markup = rules.check_reply_markup(p.get("reply_markup"), inline_only=True)
        message = self._message_to_edit(p)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        entities = list(parsed.entities)
        if (
            message["text"] == parsed.text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise bad_request(NOT_MODIFIED)
        message["text"] = parsed.text
        _set_optional(message, "entities", entities or None)
        _set_optional(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    async def _edit_message_reply_markup(self, p: _Params) -> dict[str, Any] | bool:
        markup = rules.check_reply_markup(p.get("reply_markup"), inline_only=True)
        message = self._message_to_edit(p)
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        _set_optional(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _message_to_edit(self, p: _Params) -> dict[str, Any]:
        if p.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        if not p.has("chat_id") and not p.has("message_id"):
            raise bad_request("message identifier is not specified")
        chat = self._target_chat(p)
        message_id = p.integer("message_id")
        if not message_id:
            raise bad_request("message identifier is not specified")
        message = self._messages.get(chat["id"], {}).get(message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise bad_request("message can't be edited")
        return message

    async def _delete_message(self, p: _Params) -> bool:
        chat = self._target_chat(p)
        message_id = p.integer("message_id")
        if not message_id:
            raise bad_request("message identifier is not specified")
        messages = self._messages.get(chat["id"], {})
        message = messages.get(message_id)
        if message is None:
            raise bad_request("message to delete not found")
        if message["from"]["id"] != self.bot_id and chat["type"] != "private":
            raise bad_request("message can't be deleted")
        del messages[message_id]
        return True


# ---------------------------------------------------------------------- helpers


def detect_entities(text: str) -> list[dict[str, Any]]:
    """bot_command and mention entities, as Telegram's clients attach them."""
    found = [(match, "bot_command") for match in _COMMAND_RE.finditer(text)] + [
        (match, "mention") for match in _MENTION_RE.finditer(text)
    ]
    found.sort(key=lambda item: item[0].start())
    return [
        {
            "type": kind,
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match, kind in found
    ]


def _chat_dict(chat_type: str, chat_id: int | None, user: dict[str, Any]) -> dict[str, Any]:
    """The Chat of a user's message; group ids are negative as on Telegram."""
    if chat_type == "private":
        if chat_id not in (None, user["id"]):
            raise ValueError("a private chat's id is the user's id")
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        return chat
    if chat_type == "group":
        chat_id = DEFAULT_GROUP_ID if chat_id is None else chat_id
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        return {"id": chat_id, "type": "group", "title": "FAQ testers"}
    if chat_type == "supergroup":
        chat_id = DEFAULT_SUPERGROUP_ID if chat_id is None else chat_id
        if not str(chat_id).startswith("-100"):
            raise ValueError("supergroup chat ids start with -100")
        return {"id": chat_id, "type": "supergroup", "title": "FAQ testers"}
    raise ValueError(f"unsupported chat_type {chat_type!r}")


def _without_reply(message: dict[str, Any]) -> dict[str, Any]:
    """Telegram nests replied-to messages one level deep only."""
    return {k: copy.deepcopy(v) for k, v in message.items() if k != "reply_to_message"}


def _callback_datas(message: dict[str, Any]) -> set[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["callback_data"] for row in rows for b in row if "callback_data" in b}


def _update_type(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _set_optional(target: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def _consume(rule: _Fault | _Delay | _Drop) -> bool:
    """Use up one application of a rule; False once it is exhausted."""
    if rule.remaining is None:
        return True
    if rule.remaining <= 0:
        return False
    rule.remaining -= 1
    return True


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _same_id(value: Any, wanted: int | str) -> bool:
    return value is not None and str(value) == str(wanted)


def _default_description(status: int, retry_after: int | None) -> str:
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after}"
    if status == HTTPStatus.FORBIDDEN:
        return "Forbidden: bot was blocked by the user"
    if status == HTTPStatus.CONFLICT:
        return TERMINATED_BY_OTHER_POLL
    if status == HTTPStatus.BAD_REQUEST:
        return "Bad Request"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown error"


def _too_many_requests(retry_after: int) -> BotAPIError:
    return BotAPIError(
        f"Too Many Requests: retry after {retry_after}",
        429,
        {"retry_after": retry_after},
        simulated=True,
    )


def _split_path(path: str) -> tuple[str | None, str]:
    """``/bot<token>/<method>`` → (token, method); (None, "") for anything else."""
    if not path.startswith("/bot"):
        return None, ""
    token, slash, method = path[len("/bot") :].partition("/")
    if not slash or not method or "/" in method:
        return None, ""
    return token, method


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string plus a form, multipart or JSON body; nested JSON fields decoded."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise bad_request("can't parse JSON encoded request parameters") from exc
            if not isinstance(body, dict):
                raise bad_request("JSON-encoded request parameters must be an Object")
            params.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                params[key] = value if isinstance(value, str) else _describe_file(value)
    for name in rules.JSON_PARAMETERS & params.keys():
        params[name] = rules.decode_json_parameter(name, params[name])
    rules.refuse_invalid_strings(params)
    return params


def _describe_file(field: Any) -> dict[str, Any]:
    """Uploaded files are recorded by name and size; the fake keeps no content."""
    data = field.file.read()
    return {"filename": field.filename, "size": len(data), "content_type": field.content_type}


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _client_gone_soon(request: web.Request, grace: float = 0.25) -> bool:
    """Whether the client hung up, allowing its FIN a moment to arrive.

    PTB abandons a long poll by closing the connection and then sends a new
    getUpdates; the new request may be read before the old socket's EOF.
    """
    deadline = time.monotonic() + grace
    while not _client_gone(request):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _abort(request: web.Request) -> web.Response:
    """Close the TCP connection without writing an answer."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


def _json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
    )
