"""A small SOCKS4/4a/5 proxy on 127.0.0.1, for tests of a bot that reaches Telegram through one.

It speaks the CONNECT command of SOCKS4 (RFC-less, the de facto protocol),
SOCKS4a (a host name instead of an address) and SOCKS5 (RFC 1928, no
authentication, or username/password of RFC 1929), then relays bytes both
ways. Each CONNECT is noted as the client sent it: the version, and the
destination as a name or as an address, which is how a test tells who
resolved Telegram's name. `refuse` answers every CONNECT with a failure, as
a proxy that cannot reach Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Connect:
    """One CONNECT as the client asked it."""

    version: str  # "socks4", "socks4a", "socks5"
    host: str  # a name when the client left resolving to the proxy, else an address
    port: int
    by_name: bool
    username: str | None = None


class SocksProxy:
    """`async with SocksProxy() as proxy:` serves on `proxy.port` until the block ends."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.connects: list[Connect] = []
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[object]] = set()  # connections being served

    async def __aenter__(self) -> SocksProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._clients:  # a client's idle keep-alive connection included
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, scheme: str, credentials: str = "") -> str:
        return f"{scheme}://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            [version] = await reader.readexactly(1)
            if version == 4:
                connect = await self._socks4(reader)
            elif version == 5:
                connect = await self._socks5(reader, writer)
            else:
                return
            self.connects.append(connect)
            upstream = None
            if not self.refuse:
                with contextlib.suppress(OSError):
                    upstream = await asyncio.open_connection(connect.host, connect.port)
            if version == 4:
                granted = 0x5A if upstream else 0x5B
                writer.write(bytes([0, granted]) + bytes(6))
            else:
                status = 0 if upstream else 5  # 5: connection refused
                writer.write(bytes([5, status, 0, 1]) + bytes(6))
            await writer.drain()
            if upstream is None:
                return
            up_reader, up_writer = upstream
            await asyncio.gather(_relay(reader, up_writer), _relay(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()

    async def _socks4(self, reader: asyncio.StreamReader) -> Connect:
        head = await reader.readexactly(7)  # command, port, address
        port = struct.unpack("!H", head[1:3])[0]
        address = head[3:7]
        user = (await reader.readuntil(b"\0"))[:-1].decode()
        if address[:3] == bytes(3) and address[3] != 0:  # 0.0.0.x: SOCKS4a, a name follows
            name = (await reader.readuntil(b"\0"))[:-1].decode()
            return Connect("socks4a", name, port, True, user or None)
        return Connect("socks4", str(ipaddress.IPv4Address(address)), port, False, user or None)

    async def _socks5(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Connect:
        [count] = await reader.readexactly(1)
        methods = await reader.readexactly(count)
        username = None
        if 2 in methods:  # username and password offered: take them
            writer.write(b"\x05\x02")
            await writer.drain()
            await reader.readexactly(1)
            [size] = await reader.readexactly(1)
            username = (await reader.readexactly(size)).decode()
            [size] = await reader.readexactly(1)
            await reader.readexactly(size)
            writer.write(b"\x01\x00")
        else:
            writer.write(b"\x05\x00")
        await writer.drain()
        _, _, _, kind = await reader.readexactly(4)
        if kind == 3:
            [size] = await reader.readexactly(1)
            host, by_name = (await reader.readexactly(size)).decode(), True
        elif kind == 1:
            host, by_name = str(ipaddress.IPv4Address(await reader.readexactly(4))), False
        else:
            host, by_name = str(ipaddress.IPv6Address(await reader.readexactly(16))), False
        port = struct.unpack("!H", await reader.readexactly(2))[0]
        return Connect("socks5", host, port, by_name, username)


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
