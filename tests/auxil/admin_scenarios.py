"""Helpers for the admin's scenarios: an editable knowledge base and its edits.

The admin works on a copy of the bundled knowledge base (`[knowledge] path`),
edits it as a text file, as a curator does, and reloads it. The edits here
are made on the text, and where they land is found by searching the text, so
a test can say on which line a problem must be reported.
"""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from knowledge.loader import bundled_path

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


def many_new_entries(count: int) -> tuple[str, list[str]]:
    """`count` entries to append to the file, each asked by a made-up word; and their ids.

    The ids are as long as ids get in practice, so that a list of them can
    overflow one message. Made-up words keep each question to its own entry.
    """
    rng = random.Random(count)
    blocks, ids = [], []
    for number in range(count):
        word = "".join(
            consonant + rng.choice("aeiou") for consonant in rng.choices("bcdfghjklmnpqrstvz", k=5)
        )
        entry_id = f"acronym-glossary-term-{number:03d}"
        ids.append(entry_id)
        blocks.append(
            f"""
  - id: {entry_id}
    topic: general
    title:
      en: "The term {word}"
      es: "El término {word}"
    questions:
      en:
        - "{word}"
      es:
        - "{word}"
    answer:
      en: |
        {word} is a term of the press release.
      es: |
        {word} es un término del comunicado.
    related: []
    source: [1]
"""
        )
    return "".join(blocks), ids


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


def revise_answer_in_file(path: Path, entry_id: str, marker: str) -> None:
    """`revise_answer` on a knowledge base file, as a curator saving the edit."""
    path.write_text(revise_answer(path.read_text(encoding="utf-8"), entry_id, marker), "utf-8")


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
