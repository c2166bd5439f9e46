"""A config file written by a person: an empty value is a mistake named by its key.

`path = ""` is what an editor leaves after deleting a value. It must not
quietly mean the config's own folder ("cannot read the file: Is a
directory"), the current directory, or no token: `faqbot` stops at once with
one line naming the key, and exit code 2 (which systemd does not restart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import main as faqbot_main
from bot.config import _SECTIONS, ENV_TOKEN
from tests.auxil.bot_process import finished, spawn_faqbot, write_config
from tests.auxil.fake_bot_api import FakeBotAPI

# Every string key, each with the rest of its section valid.
STRING_KEYS = (
    ("telegram", "token"),
    ("telegram", "base_url"),
    ("webhook", "listen"),
    ("webhook", "url"),
    ("webhook", "secret_token"),
    ("webhook", "path"),
    ("knowledge", "path"),
    ("storage", "path"),
)
VALID_WEBHOOK = {"url": "https://bot.example.org", "secret_token": "s3cret"}


def test_every_string_key_of_the_config_is_checked_here() -> None:
    keys = {(s, k) for s, keys in _SECTIONS.items() for k, kind in keys.items() if kind is str}
    assert keys == set(STRING_KEYS)


@pytest.mark.parametrize("value", ["", "   "])
@pytest.mark.parametrize(("section", "key"), STRING_KEYS)
def test_an_empty_string_value_is_a_config_error_naming_its_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    section: str,
    key: str,
    value: str,
) -> None:
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    sections: dict[str, dict[str, Any]] = (
        {"webhook": dict(VALID_WEBHOOK)} if section == "webhook" else {}
    )
    sections.setdefault(section, {})[key] = value
    config = write_config(tmp_path, None, **sections)

    code = faqbot_main(["--config", str(config), "check"])

    assert code == 2
    assert capsys.readouterr().err == f"faqbot: config error: {section}.{key}: must not be empty\n"


async def test_faqbot_run_with_an_empty_knowledge_path_stops_with_one_line(
    fake: FakeBotAPI, tmp_path: Path
) -> None:
    process = await spawn_faqbot(write_config(tmp_path, fake, knowledge={"path": ""}))

    code, out, err = await finished(process)

    assert code == 2, err
    assert err == "faqbot: config error: knowledge.path: must not be empty\n"
    assert out == ""
    assert [c.method for c in fake.calls] == [], "nothing reached Telegram"
