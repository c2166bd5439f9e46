"""The bot's HTTP client for the Bot API: aiohttp behind python-telegram-bot's `BaseRequest`.

Why not python-telegram-bot's default (httpx): profiled on two cores
against the fake Bot API, the httpx stack (httpx, httpcore, anyio, h11, all
pure Python) took about 1 ms of CPU per answered update, half of everything
the bot did, and its connection pool checks every idle connection on each
request, so the cost grows with the concurrency a far-away Telegram needs.
aiohttp parses HTTP in C and hands out a pooled connection in constant
time; the same bot then needs about half the CPU per update. At Telegram's
own pace (30 messages a second, every answer 50 ms away) httpx took 1.95
times the CPU per update and its reply p99 was 1.2 times this client's
(bench/bench_http_client.py, 2026-12-06, two cores; the README has the
figures). `BaseRequest` is the extension point
python-telegram-bot documents for exactly this; everything above it (the
Bot methods, errors, retries, the rate limiter) is unchanged.

It keeps to what python-telegram-bot documents of `BaseRequest` (its
abstract methods, `DEFAULT_NONE`, `USER_AGENT`, `parse_json_payload`,
`RequestData`'s public attributes) and raises only python-telegram-bot's
errors: `TimedOut` for a timeout, `NetworkError` for any other failure.
Those it raises are the subclasses of bot/request_errors.py where it knows
more, so the retry logic can tell a request Telegram never saw
(`NeverSent`, `NeverSentInTime`: refused, not connected, no free
connection, the proxy would not open the way) from one it acted on
(`AnswerCutShort`, or a plain `TimedOut` while reading the answer).

Requests go out as a JSON body, which the Bot API accepts for everything
but uploads; uploads go as multipart form data. Timeouts keep
python-telegram-bot's meaning. Proxies are the environment's, as httpx
takes them (bot/proxies.py): HTTP and HTTPS proxies through aiohttp
itself, SOCKS through aiohttp-socks, on a session of their own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import aiohttp_socks
import certifi
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot import proxies
from bot.backoff import Backoff
from bot.request_errors import AnswerCutShort, NeverSent, NeverSentInTime

# python-telegram-bot's own defaults for HTTPXRequest, in seconds.
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 5.0
DEFAULT_WRITE_TIMEOUT = 5.0
DEFAULT_POOL_TIMEOUT = 1.0
DEFAULT_MEDIA_WRITE_TIMEOUT = 20.0

log = logging.getLogger(__name__)

# The token travels in every Bot API URL (/bot<token>/method, /file/bot<token>/path),
# and aiohttp quotes the URL in some of its errors.
_TOKEN_IN_URL = re.compile(r"/bot[^/\s'\"]+")


def _without_token(text: str) -> str:
    return _TOKEN_IN_URL.sub("/bot<token>", text)


def _method_of(url: str) -> str:
    """The Bot API method a URL calls ("getUpdates"), for a log line without the token."""
    return url.rsplit("/", 1)[-1] or "a request"


# Pauses before a `repeat_for` client sends a request again (bot/backoff.py):
# 0.5 s doubling to only 4 s, since every chat's next answer waits on the
# poll; about five attempts in the getUpdates client's 10 s. With them
# bench/bench_faults.py at issue 10's 3 % failing getUpdates (five seeds of
# 400 questions, a SIGTERM and restart halfway, 2026-12-06) answered nothing
# twice; they are not tuned beyond that.
REPEAT_FIRST_PAUSE = 0.5
REPEAT_LONGEST_PAUSE = 4.0


def _seconds(value: object, default: float | None) -> float | None:
    """A per-call timeout, or this request's default when the caller left it unset.

    python-telegram-bot documents `BaseRequest.DEFAULT_NONE` as the "not
    given" marker, to be told apart with `is`.
    """
    if value is BaseRequest.DEFAULT_NONE:
        return default
    assert value is None or isinstance(value, int | float)
    return value


def _as_bot_api_error(status: int, content_type: str, page: bytes) -> bytes:
    """A failure answered by something in front of the Bot API, in the Bot API's own form.

    A 502 or 504 from Telegram's front end (nginx) or from a proxy is an
    HTML page, not the JSON the Bot API answers. python-telegram-bot would
    log the whole page as a traceback ("Can not load invalid JSON data") and
    quote it in full in the error; here the error says in one short line
    what came back instead. The status is kept, so the error is still the
    one python-telegram-bot raises for it (NetworkError for a 5xx).
    """
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "HTTP error"
    description = (
        f"{phrase} ({status}): a {content_type or 'typeless'} page of {len(page)} bytes "
        "instead of the Bot API's answer"
    )
    return json.dumps({"ok": False, "error_code": status, "description": description}).encode()


class AiohttpRequest(BaseRequest):
    """Sends Bot API requests over aiohttp with a bounded connection pool.

    `connection_pool_size` caps the requests in flight at once: a request
    that finds them all busy waits up to `pool_timeout` for one to come free.

    The proxies are the environment's, read when the client is made; one
    faqbot cannot use raises `proxies.ProxySettingError` here, at start-up.

    `repeat_for` (seconds, 0 by default) is only for a client whose every
    request may be sent twice without harm: the one for getUpdates, which
    hands out the same updates again until a later offset acknowledges them.
    Such a client sends a request again, with jittered exponential back-off
    for up to that long, after any failure but an answer below 500 (a
    refusal): a 5xx, a connection refused, dropped or timed out. It matters
    most on a stop: the getUpdates that acknowledges the last updates is sent
    once by python-telegram-bot, and if it failed a restart would answer
    them again. Each failure sent again is one warning line.
    """

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = DEFAULT_READ_TIMEOUT,
        write_timeout: float | None = DEFAULT_WRITE_TIMEOUT,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
        pool_timeout: float | None = DEFAULT_POOL_TIMEOUT,
        media_write_timeout: float | None = DEFAULT_MEDIA_WRITE_TIMEOUT,
        repeat_for: float = 0.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._repeat_for = repeat_for
        self._backoff = Backoff(REPEAT_FIRST_PAUSE, REPEAT_LONGEST_PAUSE)
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxies = proxies.from_environment()
        self._routes: dict[str, proxies.Proxy | None] = {}  # "scheme://host" -> its proxy
        # Direct and through an HTTP proxy under "", through a SOCKS proxy under its URL.
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._ready = False
        # Taken before a request and given back after its answer is read: a
        # request that cannot get one in `pool_timeout` was never sent.
        self._slots = asyncio.Semaphore(connection_pool_size)

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """The Bot API's JSON answer; anything else is one short error, not a logged page.

        `BaseRequest` documents this method as the one to override for how
        answers are parsed. Its own version logs the whole payload with a
        traceback before failing.
        """
        try:
            parsed = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise TelegramError(
                f"Invalid server response: {len(payload)} bytes that are not JSON"
            ) from None
        if not isinstance(parsed, dict):
            raise TelegramError("Invalid server response: JSON that is not an object")
        return parsed

    async def initialize(self) -> None:
        """Get ready to send; sessions are made inside the running event loop, when first used."""
        if not self._ready:
            self._slots = asyncio.Semaphore(self._pool_size)  # of this event loop
            self._ready = True

    async def shutdown(self) -> None:
        self._ready = False
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    def _session(self, proxy: proxies.Proxy | None) -> aiohttp.ClientSession:
        """The session for requests through `proxy`, made on first use."""
        key = proxy.url if proxy is not None and proxy.socks else ""
        session = self._sessions.get(key)
        if session is None:
            # Mozilla's certificates, as python-telegram-bot's httpx used: the
            # bot does not depend on the host having a CA store installed.
            certificates = ssl.create_default_context(cafile=certifi.where())
            connector: aiohttp.TCPConnector
            if key:
                assert proxy is not None
                connector = _socks_connector(proxy, self._pool_size, certificates)
            else:
                connector = aiohttp.TCPConnector(limit=self._pool_size, ssl=certificates)
            session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )
            self._sessions[key] = session
        return session

    def _timeout(
        self, read: object, write: object, connect: object, uploading: bool
    ) -> aiohttp.ClientTimeout:
        read_s = _seconds(read, self._read_timeout)
        write_s = _seconds(write, self._media_write_timeout if uploading else self._write_timeout)
        connect_s = _seconds(connect, self._connect_timeout)
        # aiohttp has no write timeout: the three together bound the whole request.
        parts = (read_s, write_s, connect_s)
        return aiohttp.ClientTimeout(
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=connect_s,
            sock_read=read_s,
        )

    def _proxy(self, url: str) -> proxies.Proxy | None:
        """The proxy the environment gives for this URL's host, if any."""
        scheme, _, rest = url.partition("://")
        origin = f"{scheme}://{rest.split('/', 1)[0]}"
        if origin not in self._routes:
            self._routes[origin] = self._proxies.for_url(origin)
        return self._routes[origin]

    async def _take_slot(self, pool_timeout: object) -> None:
        if not self._slots.locked():  # the usual case: no waiting, no timer
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(_seconds(pool_timeout, self._pool_timeout)):
                await self._slots.acquire()
        except TimeoutError:
            raise NeverSentInTime(
                "Timed out waiting for a free connection: the request was not sent"
            ) from None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        timeouts = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        if not self._repeat_for:
            return await self._request_once(url, method, request_data, *timeouts)
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempt = 0
        while True:
            failure: NetworkError | None = None
            try:
                status, payload = await self._request_once(url, method, request_data, *timeouts)
            except NetworkError as error:
                failure = error
            else:
                if status < HTTPStatus.INTERNAL_SERVER_ERROR:
                    return status, payload
            attempt += 1
            pause = self._backoff.pause_before(attempt)
            if loop.time() - started + pause > self._repeat_for:
                if failure is not None:
                    raise failure
                return status, payload
            what = _without_token(f"{type(failure).__name__}: {failure}") if failure else status
            log.warning(
                "%s failed (%s); sending it again in %.1f s",
                _method_of(url),
                what,
                pause,
            )
            await asyncio.sleep(pause)

    async def _request_once(
        self,
        url: str,
        method: str,
        request_data: RequestData | None,
        read_timeout: object,
        write_timeout: object,
        connect_timeout: object,
        pool_timeout: object,
    ) -> tuple[int, bytes]:
        if not self._ready:
            raise RuntimeError("AiohttpRequest is not initialized")
        body: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] = {}
        if request_data is not None and request_data.contains_files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mime_type) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mime_type)
            body = form
        elif request_data is not None:
            body = json.dumps(request_data.parameters).encode("ascii")
            headers["Content-Type"] = "application/json"
        uploading = isinstance(body, aiohttp.FormData)
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout, uploading)
        proxy = self._proxy(url)
        session = self._session(proxy)
        await self._take_slot(pool_timeout)
        try:
            # The Bot API never redirects; following one would turn a POST into a bare GET.
            async with session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy.url if proxy is not None and not proxy.socks else None,
            ) as response:
                payload = await response.read()
                if response.status >= 300 and response.content_type != "application/json":
                    payload = _as_bot_api_error(response.status, response.content_type, payload)
                return response.status, payload
        except (aiohttp.ConnectionTimeoutError, aiohttp_socks.ProxyTimeoutError) as error:
            raise NeverSentInTime(f"Timed out connecting: not sent ({_named(error)})") from None
        except TimeoutError as error:  # reading the answer, or the whole request
            raise TimedOut from error
        except (
            aiohttp.ClientConnectorError,  # refused, no such host, TLS failed
            aiohttp.ClientHttpProxyError,  # an HTTP proxy refused CONNECT
            aiohttp_socks.ProxyConnectionError,  # the SOCKS proxy is unreachable
            aiohttp_socks.ProxyError,  # the SOCKS proxy refused
        ) as error:
            raise NeverSent(f"Not sent: {_named(error)}") from None
        except aiohttp.ClientPayloadError as error:
            raise AnswerCutShort(f"The answer broke off: {_named(error)}") from None
        except aiohttp.ClientError as error:
            raise NetworkError(_named(error)) from None
        finally:
            self._slots.release()


def _named(error: Exception) -> str:
    """The error's library, class and text, without the token: the class says what
    happened when the text is empty."""
    module = type(error).__module__.split(".", 1)[0]
    return _without_token(f"{module}.{type(error).__name__}: {error}")


def _socks_connector(
    proxy: proxies.Proxy, limit: int, certificates: ssl.SSLContext
) -> aiohttp_socks.ProxyConnector:
    """A connection pool whose every connection goes through the SOCKS proxy."""
    parts = urlsplit(proxy.url)
    assert parts.hostname is not None and parts.port is not None  # checked by proxies
    version = aiohttp_socks.ProxyType.SOCKS4 if proxy.scheme.startswith("socks4") else None
    return aiohttp_socks.ProxyConnector(
        host=parts.hostname,
        port=parts.port,
        proxy_type=version or aiohttp_socks.ProxyType.SOCKS5,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        rdns=proxy.remote_dns,
        limit=limit,
        ssl=certificates,
    )
