"""The layers point one way: bot/ → handlers/ → knowledge/, never back.

`knowledge/` is pure Python (no Telegram, no storage), so the engine can be
used by the terminal chat, `faqbot ask` and the tests alike; `handlers/`
state what they need from the application as Protocols, so they never reach
into `bot/`. Every module is parsed, not imported: an import inside a
function or under `TYPE_CHECKING` counts the same as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Per layer, the top-level packages its modules may not import.
FORBIDDEN = {
    "knowledge": frozenset({"handlers", "bot", "telegram", "sqlite3", "aiohttp", "httpx"}),
    "handlers": frozenset({"bot", "sqlite3", "aiohttp", "httpx"}),
}


def imported_packages(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in a module; relative imports stay inside."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def wrong_way_imports(layer: str) -> list[str]:
    forbidden = FORBIDDEN[layer]
    wrong = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, package in imported_packages(tree):
            if package in forbidden:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: imports {package}")
    return wrong


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_the_layers_above_it(layer):
    assert wrong_way_imports(layer) == []


def test_the_check_sees_every_kind_of_import():
    """The check itself: a wrong-way import written any way is found."""
    source = (
        "import bot.storage\n"
        "from bot.reporting import ReviewItem\n"
        "def later():\n"
        "    from telegram import Bot\n"
        "from . import sibling\n"
    )
    assert [package for _, package in imported_packages(ast.parse(source))] == [
        "bot",
        "bot",
        "telegram",
    ]
