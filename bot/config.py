"""Configuration: a TOML file, a few environment variables, and one-line errors.

A broken config must say which key is wrong and stop; a running bot must
never start half-configured. Every key has a default, so no file at all is a
valid configuration for the terminal chat and `faqbot ask`.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.engine import Thresholds
from knowledge.loader import bundled_path

ENV_CONFIG = "FAQBOT_CONFIG"
ENV_TOKEN = "TELEGRAM_BOT_TOKEN"
# A send still being tried again holds its chat's later messages, and a stop
# waits for it: longer than a few minutes is an outage, not a passing fault.
MAX_RETRY_SECONDS = 300.0


class ConfigError(Exception):
    """A configuration problem, worded for the person who wrote the file."""


@dataclass(frozen=True)
class TelegramConfig:
    token: str | None = None
    base_url: str = "https://api.telegram.org/bot"
    admins: tuple[int, ...] = ()
    # Telegram's flood limits: about 30 messages a second overall and one a
    # second in a private chat. Lower them if Telegram answers 429 often;
    # tests against a local fake server raise them.
    overall_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    # Updates handled at once (a chat's own updates always go in order). Eight
    # keep far ahead of Telegram's 30 messages a second; more only cost CPU.
    concurrent_updates: int = 8
    # How long a message Telegram did not receive (a 5xx answer, a refused or
    # dropped connection, a 429) is sent again, with jittered exponential
    # back-off (0.5 s, 1 s, 2 s, ... at most 8 s apart); 0 sends it once.
    retry_seconds: float = 20.0


@dataclass(frozen=True)
class WebhookConfig:
    listen: str = "127.0.0.1"
    port: int = 8443
    url: str = ""
    secret_token: str = ""
    path: str = "telegram"


@dataclass(frozen=True)
class KnowledgeConfig:
    path: Path = field(default_factory=bundled_path)
    watch: bool = False
    watch_interval: float = 2.0


@dataclass(frozen=True)
class StorageConfig:
    path: Path = Path("faqbot.sqlite3")
    retention_days: int = 90


@dataclass(frozen=True)
class ConversationConfig:
    # How long the bot remembers a chat's last topic for follow-ups ("when was
    # it created?"); 0 turns follow-ups off.
    context_minutes: float = 5.0
    # How many chats' topics it remembers at most (the oldest go first).
    context_chats: int = 10_000


@dataclass(frozen=True)
class Config:
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    webhook: WebhookConfig | None = None
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    matching: Thresholds = field(default_factory=Thresholds)
    conversation: ConversationConfig = field(default_factory=ConversationConfig)
    source: Path | None = None
    warnings: tuple[str, ...] = ()


_SECTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "telegram": {
        "token": str,
        "base_url": str,
        "admins": list,
        "overall_per_second": (int, float),
        "per_chat_per_second": (int, float),
        "concurrent_updates": int,
        "retry_seconds": (int, float),
    },
    "webhook": {"listen": str, "port": int, "url": str, "secret_token": str, "path": str},
    "knowledge": {"path": str, "watch": bool, "watch_interval": (int, float)},
    "storage": {"path": str, "retention_days": int},
    "matching": {
        "answer_confidence": (int, float),
        "suggest_threshold": (int, float),
    },
    "conversation": {"context_minutes": (int, float), "context_chats": int},
}


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"[{name}] must be a table")
    expected = _SECTIONS[name]
    for key, value in section.items():
        if key not in expected:
            raise ConfigError(f"{name}.{key}: unknown key (known: {', '.join(expected)})")
        kind = expected[key]
        if isinstance(value, bool) and kind is not bool:
            raise ConfigError(f"{name}.{key}: expected {_kind_name(kind)}, got true/false")
        if not isinstance(value, kind):
            raise ConfigError(f"{name}.{key}: expected {_kind_name(kind)}, got {value!r}")
        # What an editor leaves after deleting a value: `path = ""` would mean the
        # config's own folder, `token = ""` no token. Leave the key out for its default.
        if isinstance(value, str) and not value.strip():
            raise ConfigError(f"{name}.{key}: must not be empty")
    return section


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list"}
    if isinstance(kind, tuple):
        return "a number"
    return names.get(kind, kind.__name__)


def _relative_to(base: Path | None, value: str) -> Path:
    path = Path(value).expanduser()
    if base is not None and not path.is_absolute():
        return base.parent / path
    return path


def parse_config(data: dict[str, Any], source: Path | None = None) -> Config:
    """Turn TOML data into a Config, raising ConfigError naming the first bad key."""
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: unknown section (known: {', '.join(_SECTIONS)})")
    telegram = _section(data, "telegram")
    admins = telegram.get("admins", [])
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in admins):
        raise ConfigError("telegram.admins: expected a list of numeric Telegram user ids")
    token = os.environ.get(ENV_TOKEN) or telegram.get("token") or None
    base_url = telegram.get("base_url", TelegramConfig.base_url)
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"telegram.base_url: expected an http(s) address, got {base_url!r}")

    rates = {}
    for key in ("overall_per_second", "per_chat_per_second"):
        rates[key] = float(telegram.get(key, getattr(TelegramConfig, key)))
        if rates[key] <= 0:
            raise ConfigError(f"telegram.{key}: expected a positive number, got {rates[key]}")

    concurrent = telegram.get("concurrent_updates", TelegramConfig.concurrent_updates)
    if not 1 <= concurrent <= 256:
        raise ConfigError(f"telegram.concurrent_updates: expected 1-256, got {concurrent}")

    retry = float(telegram.get("retry_seconds", TelegramConfig.retry_seconds))
    if not 0 <= retry <= MAX_RETRY_SECONDS:
        raise ConfigError(
            f"telegram.retry_seconds: expected 0-{MAX_RETRY_SECONDS:g} seconds "
            f"(how long a failed send is tried again), got {retry:g}"
        )

    webhook = None
    if "webhook" in data:
        hook = _section(data, "webhook")
        if not hook.get("url", "").startswith("https://"):
            raise ConfigError("webhook.url: the public https:// address Telegram will call")
        secret = hook.get("secret_token", "")
        if not (1 <= len(secret) <= 256) or not all(c.isalnum() or c in "_-" for c in secret):
            raise ConfigError("webhook.secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        port = hook.get("port", WebhookConfig.port)
        if not 0 < port < 65536:
            raise ConfigError(f"webhook.port: expected 1-65535, got {port}")
        webhook = WebhookConfig(
            listen=hook.get("listen", WebhookConfig.listen),
            port=port,
            url=hook["url"],
            secret_token=secret,
            path=hook.get("path", WebhookConfig.path).strip("/"),
        )

    knowledge = _section(data, "knowledge")
    knowledge_path = (
        _relative_to(source, knowledge["path"]) if "path" in knowledge else bundled_path()
    )
    interval = float(knowledge.get("watch_interval", KnowledgeConfig.watch_interval))
    if interval <= 0:
        raise ConfigError("knowledge.watch_interval: expected a positive number of seconds")

    storage = _section(data, "storage")
    retention = storage.get("retention_days", StorageConfig.retention_days)
    if retention < 1:
        raise ConfigError(f"storage.retention_days: expected at least 1, got {retention}")
    storage_path = _relative_to(source, storage.get("path", str(StorageConfig.path)))

    for retired in ("answer_threshold", "min_margin"):
        if retired in (data.get("matching") or {}):
            raise ConfigError(
                f"matching.{retired}: no longer used; the answer policy fitted on labelled "
                "questions decides (knowledge/data/policy.yaml); matching.answer_confidence "
                "overrides its probability threshold"
            )
    matching = _section(data, "matching")
    try:
        confidence = matching.get("answer_confidence")
        thresholds = Thresholds(
            suggest=float(matching.get("suggest_threshold", Thresholds.suggest)),
            answer_at=None if confidence is None else float(confidence),
        )
    except ValueError as error:
        raise ConfigError(f"matching: {error}") from None

    conversation = _section(data, "conversation")
    minutes = float(conversation.get("context_minutes", ConversationConfig.context_minutes))
    if minutes < 0:
        raise ConfigError(f"conversation.context_minutes: expected 0 or more, got {minutes}")
    chats = conversation.get("context_chats", ConversationConfig.context_chats)
    if chats < 1:
        raise ConfigError(f"conversation.context_chats: expected at least 1, got {chats}")

    return Config(
        telegram=TelegramConfig(
            token=token,
            base_url=base_url,
            admins=tuple(admins),
            concurrent_updates=concurrent,
            retry_seconds=retry,
            **rates,
        ),
        webhook=webhook,
        knowledge=KnowledgeConfig(
            path=knowledge_path, watch=knowledge.get("watch", False), watch_interval=interval
        ),
        storage=StorageConfig(path=storage_path, retention_days=retention),
        matching=thresholds,
        conversation=ConversationConfig(context_minutes=minutes, context_chats=chats),
        source=source,
        warnings=_permission_warnings(source, telegram),
    )


def _permission_warnings(source: Path | None, telegram: dict[str, Any]) -> tuple[str, ...]:
    """A token in a file that others can read is a token others can use."""
    if source is None or "token" not in telegram:
        return ()
    mode = source.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"{source} holds a Telegram token and can be read by other users "
            f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {source}",
        )
    return ()


def load_config(path: str | Path | None = None) -> Config:
    """The configuration from PATH, or $FAQBOT_CONFIG, or defaults when neither is given."""
    chosen = path or os.environ.get(ENV_CONFIG)
    if not chosen:
        return parse_config({})
    source = Path(chosen)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found") from None
    except OSError as error:
        raise ConfigError(f"{source}: cannot read the config file ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    return parse_config(data, source)
