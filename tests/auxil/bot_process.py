"""`faqbot run` as a real process: for tests that need exit codes, signals and its log.

The command line runs in a subprocess against the fake Bot API, which keeps
serving in the test's event loop meanwhile. The process never sees the token
or a config file from the test runner's environment: only the config written
here for the test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.config import ENV_CONFIG, ENV_TOKEN
from tests.auxil.fake_bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT = 20.0
# Answered with exactly one message (no contact card, no split), so one reply
# per update can be counted: tests/test_faults.py checks that it still is.
QUESTION = "Where is the event held?"


def write_config(tmp_path: Path, fake: FakeBotAPI | None, **sections: dict[str, Any]) -> Path:
    """A TOML config file: the fake's token and address (if given) plus `sections`."""
    data: dict[str, dict[str, Any]] = {"storage": {"path": str(tmp_path / "faqbot.sqlite3")}}
    if fake is not None:
        data["telegram"] = {"token": fake.token, "base_url": fake.base_url}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    lines = []
    for name, values in data.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    path = tmp_path / "faqbot.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)  # a token in a file others can read earns a warning
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


async def spawn_faqbot(config: Path) -> asyncio.subprocess.Process:
    """`python -m bot --config CONFIG run`, without the token or config from the environment."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV_TOKEN, ENV_CONFIG)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "run",
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finished(
    process: asyncio.subprocess.Process, timeout: float = PROCESS_TIMEOUT
) -> tuple[int, str, str]:
    """Exit code, stdout and stderr once it exits by itself; killed if it takes too long."""
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        if process.returncode is None:
            process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def stop(process: asyncio.subprocess.Process, timeout: float = 30) -> tuple[int, str]:
    """SIGTERM, then the exit code and everything the process wrote."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        pytest.fail(f"faqbot did not stop within {timeout}s after SIGTERM:\n{err.decode()}")
    assert process.returncode is not None
    return process.returncode, (out + err).decode("utf-8", "replace")


@dataclass
class BotProcess:
    """`faqbot run` in a subprocess; its stderr is read line by line as it comes."""

    process: asyncio.subprocess.Process
    log: list[str] = field(default_factory=list)

    async def wait_for_line(
        self, found: Callable[[str], bool], timeout: float = PROCESS_TIMEOUT
    ) -> str:
        """The first stderr line (from now on) for which `found` is true."""
        assert self.process.stderr is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no such line from faqbot; it said: {''.join(self.log)}")
            try:
                raw = await asyncio.wait_for(self.process.stderr.readline(), remaining)
            except TimeoutError:
                continue
            if not raw:
                raise AssertionError(f"faqbot exited; it said: {''.join(self.log)}")
            line = raw.decode()
            self.log.append(line)
            if found(line):
                return line

    async def finished(self, timeout: float = PROCESS_TIMEOUT) -> tuple[int, str]:
        """Exit code and everything it wrote (stdout and stderr, stderr first)."""
        code, out, err = await finished(self.process, timeout)
        self.log.append(err)
        return code, "".join(self.log) + out

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def start_faqbot(config: Path) -> BotProcess:
    """`faqbot run` with CONFIG, its stderr to be read as it comes."""
    return BotProcess(await spawn_faqbot(config))
