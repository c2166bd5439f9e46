"""Which proxy a Bot API request goes through: the environment's, read as httpx reads it.

A bot where Telegram is blocked reaches it through a proxy given in the
environment. python-telegram-bot's default client (httpx) honours
HTTP_PROXY, HTTPS_PROXY and ALL_PROXY (any case, lower case winning, as
`urllib.request.getproxies()` documents: httpx reads them through it too),
a value without a scheme meaning an HTTP proxy, and NO_PROXY; the proxy may
be HTTP, HTTPS or SOCKS. The bot's own client (bot/aiohttp_request.py) must
take the same settings, so a proxy that works with a PTB bot works here.

SOCKS: socks5 and socks5h both let the proxy resolve Telegram's name (as
httpx does for both), which is what a proxy around a DNS block needs;
socks4 resolves it here (SOCKS4 carries only addresses), socks4a on the
proxy. A proxy faqbot cannot use (another scheme, no host, no port for
SOCKS) is a `ProxySettingError` naming the variable and its value, the
password masked: a start-up error, not a bot that silently goes direct.

The settings are read once, when a client is made: aiohttp's own
`trust_env` reads the environment and ~/.netrc on every request, which
tripled the client's CPU per request.
"""

from __future__ import annotations

import os
import re
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# The proxy URL schemes faqbot can use: httpx's (http, https, socks5,
# socks5h) and SOCKS4, which aiohttp-socks also speaks.
HTTP_SCHEMES = ("http", "https")
SOCKS_SCHEMES = ("socks4", "socks4a", "socks5", "socks5h")
# SOCKS schemes whose proxy resolves the host name (the others send an address).
REMOTE_DNS_SCHEMES = ("socks4a", "socks5", "socks5h")
# The variables read, by the key urllib.request.getproxies() gives them, in
# the order they are tried for a URL: its own scheme's, then ALL_PROXY.
FOR_ALL = "all"

_PASSWORD = re.compile(r"(//[^/@:]*:)[^/@]*@")


class ProxySettingError(ValueError):
    """A proxy in the environment that faqbot cannot use; the message names it."""


@dataclass(frozen=True)
class Proxy:
    """One proxy URL, its scheme checked."""

    url: str
    scheme: str  # lower case, one of HTTP_SCHEMES or SOCKS_SCHEMES

    @property
    def socks(self) -> bool:
        return self.scheme in SOCKS_SCHEMES

    @property
    def remote_dns(self) -> bool:
        """Whether the proxy, not this machine, resolves Telegram's name (SOCKS only)."""
        return self.scheme in REMOTE_DNS_SCHEMES


@dataclass(frozen=True)
class Proxies:
    """The proxies of the environment: by URL scheme ("http", "https", "all"), and NO_PROXY."""

    by_scheme: Mapping[str, Proxy]
    no_proxy: str = ""

    def for_url(self, url: str) -> Proxy | None:
        """The proxy for a request to `url`, or None to go direct."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        proxy = self.by_scheme.get(scheme) or self.by_scheme.get(FOR_ALL)
        if proxy is None or bypasses_proxy(parts.netloc.rsplit("@", 1)[-1], self.no_proxy):
            return None
        return proxy


def from_environment() -> Proxies:
    """The environment's proxies, each checked; `ProxySettingError` for one faqbot cannot use."""
    found = urllib.request.getproxies()
    by_scheme = {
        scheme: _checked(scheme, found[scheme])
        for scheme in (*HTTP_SCHEMES, FOR_ALL)
        if found.get(scheme)
    }
    return Proxies(by_scheme, found.get("no", ""))


def _checked(scheme: str, value: str) -> Proxy:
    url = value if "://" in value else f"http://{value}"  # as httpx reads a bare host:port
    parts = urlsplit(url)
    kind = parts.scheme.lower()
    problem = None
    if kind not in HTTP_SCHEMES + SOCKS_SCHEMES:
        problem = (
            f'faqbot cannot use a "{kind}" proxy (it can: '
            f"{', '.join(HTTP_SCHEMES + SOCKS_SCHEMES)})"
        )
    elif not parts.hostname:
        problem = "the proxy's host is missing"
    else:
        try:
            port = parts.port
        except ValueError:
            problem = "the proxy's port is not a number from 0 to 65535"
        else:
            if port is None and kind in SOCKS_SCHEMES:
                problem = "a SOCKS proxy needs its port (socks5://host:1080)"
    if problem is not None:
        shown = _PASSWORD.sub(r"\1***@", value)
        raise ProxySettingError(f"{_variable(scheme)}={shown}: {problem}")
    return Proxy(url, kind)


def _variable(scheme: str) -> str:
    """The environment variable that set the proxy for `scheme`, as getproxies() chose it."""
    names = [name for name in os.environ if name.lower() == f"{scheme}_proxy"]
    lower = f"{scheme}_proxy"
    if lower in names and os.environ[lower]:
        return lower
    return names[0] if names else f"the system's {scheme} proxy setting"


# "name:port"; the port may be empty ("localhost:").
_WITH_PORT = re.compile(r"(.*):[0-9]*", re.DOTALL)


def bypasses_proxy(host: str, no_proxy: str) -> bool:
    """Whether NO_PROXY exempts `host` ("name" or "name:port") from the proxy.

    A comma-separated list: "*" in it exempts every host (as in httpx); a name
    matches itself and its subdomains ("example.org" and
    ".example.org" both cover api.example.org), whatever the case, and with
    or without the port ("localhost:8081" only that port, "localhost" every
    port). Written out here: the standard library's matcher is undocumented.
    """
    entries = [entry.strip() for entry in no_proxy.split(",")]
    if "*" in entries:
        return True
    host = host.lower()
    with_port = _WITH_PORT.fullmatch(host)
    name_only = with_port.group(1) if with_port else host
    for entry in entries:
        if not entry:
            continue
        entry = entry.lstrip(".").lower()
        if entry in (name_only, host):
            return True
        if name_only.endswith("." + entry) or host.endswith("." + entry):
            return True
    return False
