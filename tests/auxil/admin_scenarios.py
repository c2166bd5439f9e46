"""Helpers for the admin's scenarios: an editable knowledge base, its edits, `faqbot run`.

The admin works on a copy of the bundled knowledge base (`[knowledge] path`),
edits it as a text file, as a curator does, and reloads it. The edits here
are made on the text, and where they land is found by searching the text, so
a test can say on which line a problem must be reported.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import ENV_CONFIG, ENV_TOKEN
from knowledge.loader import bundled_path
from tests.auxil.fake_bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT = 20.0

# An entry the bundled knowledge base does not have, with words no other entry uses.
NEW_ENTRY_ID = "glossary"
NEW_ENTRY_QUESTIONS = {
    "en": ("Is there a glossary of acronyms?", "glossary"),
    "es": ("¿Hay un glosario de siglas?", "glosario"),
}
NEW_ENTRY = f"""
  - id: {NEW_ENTRY_ID}
    topic: general
    title:
      en: "Glossary of acronyms"
      es: "Glosario de siglas"
    questions:
      en:
        - "{NEW_ENTRY_QUESTIONS["en"][0]}"
        - "{NEW_ENTRY_QUESTIONS["en"][1]}"
      es:
        - "{NEW_ENTRY_QUESTIONS["es"][0]}"
        - "{NEW_ENTRY_QUESTIONS["es"][1]}"
    answer:
      en: |
        Acronyms in the press release: ECLAC, CELADE, IOM, OAS.
      es: |
        Siglas del comunicado: CEPAL, CELADE, OIM, OEA.
    related: [eclac]
    source: [1]
"""

_PROBLEM = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<column>\d+): (?P<message>.+)$")


def copy_knowledge(tmp_path: Path) -> Path:
    """A copy of the bundled knowledge base for the admin to edit."""
    target = tmp_path / "knowledge" / "faq.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundled_path(), target)
    return target


def line_of(text: str, needle: str, start: int = 0) -> int:
    """The 1-based line on which `needle` (searched from index `start`) begins."""
    index = text.index(needle, start)
    return text.count("\n", 0, index) + 1


def replace_once(text: str, old: str, new: str, start: int = 0) -> str:
    """`text` with the first `old` at or after `start` replaced; it must be there."""
    index = text.index(old, start)
    return text[:index] + new + text[index + len(old) :]


def entry_start(text: str, entry_id: str) -> int:
    return text.index(f"\n  - id: {entry_id}\n")


def revise_answer(text: str, entry_id: str, marker: str) -> str:
    """Put `marker` in front of an entry's English answer (a `|` block in the file)."""
    answer = text.index("    answer:\n      en: |\n", entry_start(text, entry_id))
    first_line = answer + len("    answer:\n      en: |\n")
    indent = "        "
    assert text.startswith(indent, first_line), "the answer's first line moved"
    cut = first_line + len(indent)
    return text[:cut] + marker + " " + text[cut:]


def entry_block(text: str, entry_id: str) -> str:
    """The lines of one entry, up to the next entry or comment heading."""
    start = entry_start(text, entry_id)
    following = [
        found
        for pattern in ("\n  - id: ", "\n  # ")
        if (found := text.find(pattern, start + 1)) != -1
    ]
    return text[start : min(following, default=len(text))]


def comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


@dataclass(frozen=True)
class ReportedProblem:
    path: str
    line: int
    column: int
    message: str


def reported_problems(text: str) -> list[ReportedProblem]:
    """The `file:line:col: message` lines of a reply, as the admin reads them."""
    found = []
    for line in text.splitlines():
        match = _PROBLEM.match(line.strip())
        if match:
            found.append(
                ReportedProblem(
                    match["path"], int(match["line"]), int(match["column"]), match["message"]
                )
            )
    return found


# ------------------------------------------------------------------ `faqbot run`


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
        try:
            out, err = await asyncio.wait_for(self.process.communicate(), timeout)
        except TimeoutError:
            self.kill()
            await self.process.wait()
            raise
        assert self.process.returncode is not None
        self.log.append(err.decode())
        return self.process.returncode, "".join(self.log) + out.decode()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def start_faqbot(config: Path) -> BotProcess:
    """`python -m bot --config CONFIG run`, without the token or config from the environment."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV_TOKEN, ENV_CONFIG)}
    process = await asyncio.create_subprocess_exec(
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
    return BotProcess(process)
