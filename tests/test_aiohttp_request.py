"""The bot's HTTP client, against the fake Bot API over real HTTP.

What matters to the rest of the bot: Telegram receives exactly what
python-telegram-bot meant to send; Telegram's answers and refusals come back
as python-telegram-bot's own objects and errors; and a failure says whether
the request was never sent (safe to send again) or may have been carried out,
told by the error's type (bot/request_errors.py), which the rate limiter reads.
Proxies are the environment's, as httpx takes them: HTTP, HTTPS and SOCKS,
tried against a real proxy (tests/auxil/socks_proxy.py for SOCKS).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

from bot.aiohttp_request import AiohttpRequest
from bot.proxies import ProxySettingError, bypasses_proxy, from_environment
from bot.rate_limiter import not_carried_out
from bot.request_errors import AnswerCutShort, NeverSent, NeverSentInTime
from tests.auxil.bot_process import finished, spawn_faqbot, write_config
from tests.auxil.fake_bot_api import NGINX_502, FakeBotAPI
from tests.auxil.socks_proxy import SocksProxy


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest(4)) as client:
        yield client


def bot_through(token: str, base_url: str, request: AiohttpRequest) -> Bot:
    """A Bot on `request`, with a client of its own for getUpdates too.

    Left to itself, python-telegram-bot makes an httpx client for getUpdates,
    which refuses a SOCKS proxy in the environment.
    """
    return Bot(token, base_url=base_url, request=request, get_updates_request=AiohttpRequest())


@pytest.fixture
def chat_id(fake: FakeBotAPI) -> int:
    return int(fake.message("/start")["message"]["chat"]["id"])


TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"


@pytest.fixture
async def client() -> AsyncIterator[AiohttpRequest]:
    """The HTTP client alone, started, for servers a Bot could not even start against."""
    request = AiohttpRequest(connect_timeout=2.0)
    await request.initialize()
    yield request
    await request.shutdown()


async def get_me_failure(client: AiohttpRequest, base_url: str) -> NetworkError:
    """The error a getMe through `client` to `base_url` must end in."""
    with pytest.raises(NetworkError) as failed:
        await bot_through(TOKEN, base_url, client).get_me()
    return failed.value


@contextlib.asynccontextmanager
async def raw_server(
    respond: Callable[[asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server answering every request with `respond`: for answers the fake never gives.

    Yields its base URL and the request heads it received.
    """
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        await respond(writer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/bot", heads
    finally:
        server.close()


def clear_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy setting of the machine running the tests (lower case wins in urllib)."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_spanish_answer_with_buttons_reaches_telegram_intact(
    bot: Bot, fake: FakeBotAPI, chat_id: int
) -> None:
    text = "<b>¿Dónde?</b> En Montevideo 🇺🇾 &amp; en línea"
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Recomendaciones", callback_data="o:recommendations:es")]]
    )
    sent = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    [call] = fake.calls_to("sendMessage")
    assert call.ok, call.error
    assert call.params["text"] == text
    assert int(call.params["chat_id"]) == chat_id
    assert call.params["reply_markup"] == keyboard.to_dict()
    assert sent.text == "¿Dónde? En Montevideo 🇺🇾 & en línea"
    assert sent.reply_markup == keyboard


async def test_telegram_refusing_a_message_is_python_telegram_bots_own_error(
    bot: Bot, fake: FakeBotAPI, chat_id: int
) -> None:
    with pytest.raises(BadRequest, match=r"[Cc]an't parse entities"):
        await bot.send_message(chat_id, "<b>never closed", parse_mode=ParseMode.HTML)
    assert not not_carried_out(BadRequest("x")), "a refusal is final"


async def test_text_with_a_lone_surrogate_is_refused_by_telegram_not_lost_in_the_client(
    bot: Bot, fake: FakeBotAPI, chat_id: int
) -> None:
    """JSON can carry half an emoji; Telegram refuses it, and a refusal is not retried."""
    with pytest.raises(BadRequest, match=r"(?i)utf-8") as refused:
        await bot.send_message(chat_id, "half an emoji: \ud83d")
    assert not not_carried_out(refused.value)
    [call] = fake.calls_to("sendMessage")
    assert call.status == 400


async def test_an_upload_goes_as_multipart_form_data(bot: Bot, fake: FakeBotAPI) -> None:
    certificate = b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"
    assert await bot.set_webhook("https://example.org/hook", certificate=certificate)
    [call] = fake.calls_to("setWebhook")
    assert call.params["url"] == "https://example.org/hook"
    assert call.params["certificate"]["size"] == len(certificate)


async def test_a_request_that_waited_too_long_for_a_connection_was_not_sent(
    fake: FakeBotAPI, chat_id: int
) -> None:
    """One connection, busy with a slow answer: the second request gives up unsent."""
    fake.delay("sendMessage", 1.0)
    request = AiohttpRequest(1, pool_timeout=0.2)
    async with Bot(fake.token, base_url=fake.base_url, request=request) as bot:
        slow = asyncio.create_task(bot.send_message(chat_id, "first"))
        await asyncio.sleep(0.1)
        with pytest.raises(TimedOut) as waited:
            await bot.send_message(chat_id, "second")
        await slow
    assert isinstance(waited.value, NeverSentInTime)
    assert not_carried_out(waited.value), "never sent, so safe to send again"
    assert [c.params["text"] for c in fake.calls_to("sendMessage")] == ["first"]


async def test_an_answer_slower_than_the_read_timeout_may_have_been_carried_out(
    bot: Bot, fake: FakeBotAPI, chat_id: int
) -> None:
    fake.delay("sendMessage", 1.0)
    with pytest.raises(TimedOut) as slow:
        await bot.send_message(chat_id, "slow", read_timeout=0.2)
    assert not not_carried_out(slow.value), "sending again could answer twice"
    await asyncio.sleep(1.0)
    assert [c.params["text"] for c in fake.calls_to("sendMessage")] == ["slow"]


async def test_nobody_listening_is_a_network_error_without_the_token(
    client: AiohttpRequest,
) -> None:
    refused = await get_me_failure(client, f"http://127.0.0.1:{free_port()}/bot")
    assert isinstance(refused, NeverSent)
    assert not_carried_out(refused), "a refused connection sent nothing"
    assert "ABCdef" not in str(refused)


async def test_the_client_can_be_shut_down_and_started_again(
    fake: FakeBotAPI, chat_id: int
) -> None:
    request = AiohttpRequest()
    bot = Bot(fake.token, base_url=fake.base_url, request=request)
    for text in ("before", "after"):
        async with bot:
            await bot.send_message(chat_id, text)
    assert [c.params["text"] for c in fake.calls_to("sendMessage")] == ["before", "after"]


async def test_an_answer_cut_off_midway_was_carried_out_and_is_not_sent_again(
    client: AiohttpRequest,
) -> None:
    """Telegram began to answer, so it acted: sending again would answer the person twice."""

    async def cut_short(writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            b'{"ok":true,"result":{"message_id"'
        )

    async with raw_server(cut_short) as (base_url, _):
        cut = await get_me_failure(client, base_url)
    assert isinstance(cut, AnswerCutShort)
    assert not not_carried_out(cut)


async def test_a_502_page_from_nginx_is_a_short_error_to_send_again_and_not_logged(
    bot: Bot, fake: FakeBotAPI, chat_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram's front end answers 502 with an HTML page: python-telegram-bot logged
    it whole, with a traceback, and quoted it whole in the error."""
    fake.fail("sendMessage", 502, raw_body=NGINX_502)
    with pytest.raises(NetworkError) as failed:
        await bot.send_message(chat_id, "hello")
    assert not isinstance(failed.value, BadRequest)
    assert not_carried_out(failed.value), "a 502 was not carried out"
    assert str(failed.value) == (
        f"Bad Gateway (502): a text/html page of {len(NGINX_502)} bytes "
        "instead of the Bot API's answer"
    )
    assert caplog.records == []


async def test_a_client_for_get_updates_asks_again_after_failures_one_warning_each(
    fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """getUpdates may always be sent again: the same updates come until acknowledged."""
    update = fake.message("hello")
    fake.fail("getUpdates", 502, raw_body=NGINX_502)
    fake.drop("getUpdates")
    fake.fail("getUpdates", 500)
    polls = AiohttpRequest(repeat_for=10)
    async with Bot(fake.token, base_url=fake.base_url, get_updates_request=polls) as client:
        [got] = await client.get_updates(timeout=0)
    assert got.update_id == update["update_id"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and all(w.startswith("getUpdates failed (") for w in warnings)
    assert all(r.levelno <= logging.WARNING for r in caplog.records)


async def test_a_client_for_other_requests_sends_each_once(
    bot: Bot, fake: FakeBotAPI, chat_id: int
) -> None:
    """Sending a message again is the rate limiter's decision, which knows what is safe."""
    fake.fail("sendMessage", 500)
    with pytest.raises(NetworkError):
        await bot.send_message(chat_id, "hello")
    assert len(fake.calls_to("sendMessage")) == 1


async def test_an_answer_that_is_not_json_is_one_short_error_and_not_logged(
    client: AiohttpRequest, caplog: pytest.LogCaptureFixture
) -> None:
    async def garbage(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n<html>ok!")

    async with raw_server(garbage) as (base_url, _):
        with pytest.raises(TelegramError) as failed:
            await Bot(TOKEN, base_url=base_url, request=client).get_me()
    assert str(failed.value) == "Invalid server response: 9 bytes that are not JSON"
    assert caplog.records == []


async def test_a_redirect_is_not_followed_as_a_bare_get(client: AiohttpRequest) -> None:
    """A proxy or a wrong base_url that redirects gets a clear error, not a confusing refusal."""

    async def redirect(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")

    async with raw_server(redirect) as (base_url, heads):
        redirected = await get_me_failure(client, base_url)
    assert "Found (302)" in str(redirected)
    assert [head.split(b" ")[0] for head in heads] == [b"POST"]


async def test_a_base_url_aiohttp_cannot_use_is_an_error_without_the_token(
    client: AiohttpRequest,
) -> None:
    """aiohttp quotes the URL in some errors, and the URL holds the token."""
    refused = await get_me_failure(client, "ftp://127.0.0.1/bot")
    assert "/bot<token>/getMe" in str(refused)
    assert "ABCdef" not in str(refused)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
async def test_a_bot_behind_the_proxy_in_its_environment_reaches_telegram_through_it(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """Where Telegram is blocked, HTTP(S)_PROXY or ALL_PROXY is how a bot reaches it (as httpx)."""
    me = json.dumps(
        {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "f", "username": "x_bot"}}
    ).encode()

    async def proxy(writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(me), me)
        )

    async with raw_server(proxy) as (proxy_url, heads):
        clear_proxy_environment(monkeypatch)
        monkeypatch.setenv(variable, proxy_url.removesuffix("/bot"))
        request = AiohttpRequest()
        await request.initialize()
        try:
            bot = Bot(TOKEN, base_url="http://api.telegram.invalid/bot", request=request)
            assert (await bot.get_me()).username == "x_bot"
        finally:
            await request.shutdown()
    [head] = heads
    assert head.startswith(b"POST http://api.telegram.invalid/bot")


async def test_a_host_in_no_proxy_is_reached_directly(
    fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def proxy(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    async with raw_server(proxy) as (proxy_url, heads), SocksProxy() as socks:
        clear_proxy_environment(monkeypatch)
        monkeypatch.setenv("HTTP_PROXY", proxy_url.removesuffix("/bot"))
        monkeypatch.setenv("ALL_PROXY", socks.url("socks5"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with bot_through(fake.token, fake.base_url, AiohttpRequest()) as bot:
            assert (await bot.get_me()).username
    assert heads == []
    assert socks.connects == []


def fake_by_name(fake: FakeBotAPI) -> str:
    """The fake's base URL with its host as a name, to see who resolves it."""
    return fake.base_url.replace("127.0.0.1", "localhost")


@pytest.mark.parametrize(
    ("scheme", "version", "by_name"),
    [
        ("socks5", "socks5", True),  # the proxy resolves the name, as httpx has it
        ("socks5h", "socks5", True),
        ("socks4a", "socks4a", True),
        ("socks4", "socks4", False),  # SOCKS4 carries an address: resolved here
    ],
)
async def test_a_bot_reaches_telegram_through_a_socks_proxy_in_all_proxy(
    fake: FakeBotAPI,
    chat_id: int,
    monkeypatch: pytest.MonkeyPatch,
    scheme: str,
    version: str,
    by_name: bool,
) -> None:
    async with SocksProxy() as socks:
        clear_proxy_environment(monkeypatch)
        monkeypatch.setenv("ALL_PROXY", socks.url(scheme))
        request = AiohttpRequest(4)
        async with bot_through(fake.token, fake_by_name(fake), request) as bot:
            await bot.send_message(chat_id, "¿Dónde? En Montevideo")
            await bot.send_message(chat_id, "again, on the same connection")
    [connect] = socks.connects
    assert (connect.version, connect.port, connect.by_name) == (version, fake.port, by_name)
    assert connect.host == ("localhost" if by_name else "127.0.0.1")
    assert [c.params["text"] for c in fake.calls_to("sendMessage")] == [
        "¿Dónde? En Montevideo",
        "again, on the same connection",
    ]


async def test_a_socks_proxy_gets_the_user_and_password_of_its_url(
    fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SocksProxy() as socks:
        clear_proxy_environment(monkeypatch)
        monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # not for http:// URLs
        monkeypatch.setenv("all_proxy", socks.url("socks5h", "bot%20user:s3cret"))
        async with bot_through(fake.token, fake.base_url, AiohttpRequest()) as bot:
            assert (await bot.get_me()).username
    [connect] = socks.connects
    assert connect.username == "bot user"


async def failure_through(
    proxy_url: str, fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> NetworkError:
    """The error a getMe to the fake through ALL_PROXY=`proxy_url` ends in."""
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", proxy_url)
    request = AiohttpRequest(connect_timeout=0.5)
    await request.initialize()
    try:
        return await get_me_failure(request, fake.base_url)
    finally:
        await request.shutdown()


async def test_a_socks_proxy_that_cannot_reach_telegram_means_the_request_was_not_sent(
    fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SocksProxy(refuse=True) as socks:
        refused = await failure_through(socks.url("socks5"), fake, monkeypatch)
    assert len(socks.connects) == 1
    assert isinstance(refused, NeverSent)
    assert not_carried_out(refused)
    assert fake.calls == []
    assert "ABCdef" not in str(refused)


async def test_no_socks_proxy_listening_means_the_request_was_not_sent(
    fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = await failure_through(f"socks5://127.0.0.1:{free_port()}", fake, monkeypatch)
    assert isinstance(refused, NeverSent)
    assert fake.calls == []


async def test_a_socks_proxy_that_never_answers_times_out_unsent(
    fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        waited = await failure_through(f"socks5://127.0.0.1:{port}", fake, monkeypatch)
    finally:
        server.close()
    assert isinstance(waited, TimedOut) and isinstance(waited, NeverSentInTime)
    assert not_carried_out(waited)
    assert fake.calls == []


@pytest.mark.parametrize(
    ("host", "no_proxy", "direct"),
    [
        ("api.telegram.org", "", False),
        ("api.telegram.org", "*", True),
        ("api.telegram.org", "telegram.org", True),  # a subdomain
        ("api.telegram.org", ".telegram.org", True),  # a leading dot changes nothing
        ("telegram.org", ".telegram.org", True),
        ("API.Telegram.ORG", "api.TELEGRAM.org", True),  # case does not matter
        ("api.telegram.org", "example.org, api.telegram.org ,", True),  # a list, spaced
        ("api.telegram.org", "legram.org", False),  # whole labels only
        ("api.telegram.org", "org.telegram", False),
        ("api.telegram.org", "api.telegram.org.example", False),
        ("127.0.0.1:8081", "127.0.0.1", True),  # without a port: every port
        ("127.0.0.1:8081", "127.0.0.1:8081", True),  # with a port: that port
        ("127.0.0.1:8082", "127.0.0.1:8081", False),
        ("127.0.0.1", "127.0.0.2", False),
        ("localhost:", "localhost", True),  # an empty port
        ("[::1]:8081", "[::1]", True),
        ("api.telegram.org", "example.org, *", True),  # "*" anywhere, as in httpx
        ("api.telegram.org", " , ,", False),
    ],
)
def test_no_proxy_exempts_the_hosts_it_names(host: str, no_proxy: str, direct: bool) -> None:
    assert bypasses_proxy(host, no_proxy) is direct


def proxy_for(url: str) -> str | None:
    proxy = from_environment().for_url(url)
    return None if proxy is None else proxy.url


def set_proxies(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """These variables, and no other proxy setting of the machine running the tests."""
    clear_proxy_environment(monkeypatch)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_proxy_variables_are_read_in_any_case_lower_case_winning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_proxies(
        monkeypatch,
        HTTPS_PROXY="http://upper:3128",
        https_proxy="http://lower:3128",
        Http_Proxy="plain:3128",  # no scheme: an HTTP proxy, as in httpx
        FTP_PROXY="socks6://never.read:1",  # not a scheme the bot uses
    )
    assert proxy_for("https://api.telegram.org/bot") == "http://lower:3128"
    assert proxy_for("http://api.telegram.org/bot") == "http://plain:3128"


def test_all_proxy_serves_where_the_schemes_own_variable_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_proxies(
        monkeypatch,
        ALL_PROXY="socks5h://tunnel:1080",
        HTTP_PROXY="http://plain:3128",
        NO_PROXY="localhost",
    )
    assert proxy_for("https://api.telegram.org/bot") == "socks5h://tunnel:1080"
    assert proxy_for("http://api.telegram.org/bot") == "http://plain:3128"
    assert proxy_for("https://localhost:8081/bot") is None


def test_a_cgi_script_ignores_http_proxy_which_a_client_header_can_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_proxies(monkeypatch, REQUEST_METHOD="GET", HTTP_PROXY="http://evil:80")
    assert proxy_for("http://api.telegram.org/bot") is None
    monkeypatch.setenv("http_proxy", "http://ok:1")
    assert proxy_for("http://api.telegram.org/bot") == "http://ok:1"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("ALL_PROXY", "socks6://127.0.0.1:1080", 'cannot use a "socks6" proxy'),
        ("HTTPS_PROXY", "ftp://user:s3cret@proxy:21", 'cannot use a "ftp" proxy'),
        ("all_proxy", "socks5://127.0.0.1", "a SOCKS proxy needs its port"),
        ("HTTP_PROXY", "http://:3128", "host is missing"),
        ("HTTPS_PROXY", "http://proxy:99999", "port is not a number"),
    ],
)
def test_a_proxy_the_bot_cannot_use_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ProxySettingError) as refused:
        AiohttpRequest()
    message = str(refused.value)
    assert message.startswith(f"{variable}={value.replace('s3cret', '***')}: ")
    assert problem in message
    assert "s3cret" not in message


async def test_faqbot_run_stops_at_start_on_a_proxy_it_cannot_use(
    fake: FakeBotAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Going direct instead would fail later, and less clearly, where Telegram is blocked."""
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", "socks6://127.0.0.1:1080")
    code, _, err = await finished(await spawn_faqbot(write_config(tmp_path, fake)))
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        'faqbot: ALL_PROXY=socks6://127.0.0.1:1080: faqbot cannot use a "socks6" proxy '
        "(it can: http, https, socks4, socks4a, socks5, socks5h)"
    )
    assert fake.calls == []


def test_a_pool_without_connections_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpRequest(0)
