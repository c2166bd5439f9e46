"""Telegram's flood limits, and sending again what Telegram cannot have received.

python-telegram-bot's AIORateLimiter keeps the overall and per-group flood
limits; `PrivateChatRateLimiter` adds the one-message-a-second rule of
private chats and the retry window: a request that failed in a way that
means Telegram did not act on it is sent again, with jittered back-off,
for up to `[telegram] retry_seconds`. Whether it did act is read from the
error's type (bot/request_errors.py), never from the HTTP library under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.backoff import Backoff
from bot.request_errors import AnswerCutShort, NeverSent
from handlers.errors import describe

log = logging.getLogger("faqbot")

# Pauses before sending a request again after a failure Telegram did not act
# on (bot/backoff.py): 0.5 s doubling to 8 s gives about six attempts in the
# default 20 s window, the last ones far enough apart to outlast a short
# outage. With them bench/bench_faults.py at issue 10's fault rates (five
# seeds of 400 questions, 2026-12-06) lost no answer, where four attempts in
# 3.5 s dropped a send after four failures in a row; they are not tuned
# beyond that.
RETRY_FIRST_PAUSE = 0.5
RETRY_LONGEST_PAUSE = 8.0


def not_carried_out(error: NetworkError) -> bool:
    """Whether a failed request certainly (or, for a dropped connection, likely) did nothing.

    Read from the error's type alone (bot/request_errors.py), whatever the
    HTTP client underneath: a refusal (BadRequest, Forbidden) or a cut-short
    answer means Telegram acted; a timeout means it may have, unless nothing
    was sent (`NeverSentInTime`); anything else (`NeverSent`, a 5xx, a
    connection dropped without an answer) that it did not.
    """
    if isinstance(error, BadRequest | AnswerCutShort):  # BadRequest subclasses NetworkError
        return False
    if isinstance(error, TimedOut):
        return isinstance(error, NeverSent)
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
        self.backoff = Backoff(RETRY_FIRST_PAUSE, RETRY_LONGEST_PAUSE)

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
        An answer cut off after it began (`AnswerCutShort`) is not
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
                if isinstance(error, NetworkError) and not not_carried_out(error):
                    raise
                attempt += 1
                if isinstance(error, RetryAfter):
                    pause = _seconds_to_wait(error)
                else:
                    pause = self.backoff.pause_before(attempt)
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
