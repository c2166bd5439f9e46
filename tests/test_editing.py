"""A curator's accepted question is written into the knowledge base file as text:
comments, order and layout stay, and nothing is written that `faqbot check` refuses."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from yaml.nodes import ScalarNode, SequenceNode

from knowledge.check import check_file
from knowledge.editing import add_question, yaml_quoted
from knowledge.engine import Engine
from knowledge.loader import bundled_path, parse_knowledge


@pytest.fixture
def faq_copy(tmp_path: Path) -> Path:
    """The bundled knowledge base, copied so the tests may edit it."""
    copy = tmp_path / "faq.yaml"
    copy.write_bytes(bundled_path().read_bytes())
    return copy


def _comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def _engine(path: Path) -> Engine:
    result = check_file(path)
    assert result.ok, [str(problem) for problem in result.problems]
    assert result.loaded is not None
    return Engine(result.loaded)


def _contact_questions(text: str) -> tuple[str, ...]:
    """Entry `contact`'s English questions in a knowledge base text."""
    parsed = parse_knowledge(text)
    assert parsed.knowledge is not None
    entry = parsed.knowledge.entry("contact")
    assert entry is not None
    return entry.questions["en"]


def _bundled_text() -> str:
    return bundled_path().read_bytes().decode("utf-8")


def _contact_english_questions(text: str) -> tuple[ScalarNode, SequenceNode]:
    """The `en:` key and list node of entry `contact`'s questions, with their marks."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    entries = next(value for key, value in root.value if key.value == "entries")
    for entry in entries.value:
        fields = {key.value: (key, value) for key, value in entry.value}
        if fields["id"][1].value == "contact":
            questions = fields["questions"][1]
            return next((k, v) for k, v in questions.value if k.value == "en")
    raise AssertionError("the bundled file has no entry 'contact'")


def _with_flow_style_english_questions(text: str) -> str:
    """The bundled file with contact's English questions rewritten as one `[...]` line."""
    key, questions = _contact_english_questions(text)
    items = [text[item.start_mark.index : item.end_mark.index] for item in questions.value]
    last = questions.value[-1].end_mark.index
    return text[: key.end_mark.index] + ": [" + ", ".join(items) + "]  # keep me" + text[last:]


def test_curator_accepted_question_lands_under_its_entry_with_every_comment_kept(
    faq_copy: Path,
) -> None:
    before = faq_copy.read_text(encoding="utf-8")
    assert _engine(faq_copy).ask("ping the press liaison").entry_id is None  # not answered yet

    problems = add_question(faq_copy, "contact", "en", "ping the press liaison")

    assert problems == []
    after = faq_copy.read_text(encoding="utf-8")
    assert _comment_lines(after) == _comment_lines(before)
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ['        - "ping the press liaison"']
    # Exactly one line more, right after the last English question of `contact`.
    lines = after.splitlines()
    position = lines.index(added[0])
    last_english = _contact_questions(before)[-1]
    assert last_english in lines[position - 1]
    assert lines[position + 1] == "      es:"
    assert lines[:position] + lines[position + 1 :] == before.splitlines()

    engine = _engine(faq_copy)  # the edited file passes `faqbot check`
    answer = engine.ask("ping the press liaison")
    assert answer.entry_id == "contact"
    assert engine.knowledge.entry("contact").questions["en"][-1] == "ping the press liaison"


def test_spanish_question_goes_into_the_spanish_list(faq_copy: Path) -> None:
    assert add_question(faq_copy, "contact", "es", "a quién aviso del informe") == []

    entry = _engine(faq_copy).knowledge.entry("contact")
    assert entry is not None
    assert entry.questions["es"][-1] == "a quién aviso del informe"
    assert "a quién aviso del informe" not in entry.questions["en"]


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("en", "who is the press contact"),  # stored as "Who is the press contact?"
        ("en", "  WHO IS THE PRESS CONTACT ?!  "),
        ("es", "quien es el contacto de prensa"),  # stored with accents and ¿?
    ],
)
def test_question_already_in_the_file_is_refused(
    faq_copy: Path, language: str, question: str
) -> None:
    before = faq_copy.read_bytes()

    problems = add_question(faq_copy, "contact", language, question)

    assert len(problems) == 1
    assert "already has the question" in problems[0]
    assert faq_copy.read_bytes() == before


def test_question_that_another_entry_answers_is_refused_and_the_file_is_untouched(
    faq_copy: Path,
) -> None:
    before = faq_copy.read_bytes()
    modified_before = faq_copy.stat().st_mtime_ns

    problems = add_question(faq_copy, "contact", "en", "dates of the session please")

    assert problems
    assert any("answered by entry 'event'" in problem for problem in problems)
    assert all(problem.startswith(str(faq_copy)) for problem in problems)
    assert faq_copy.read_bytes() == before
    assert faq_copy.stat().st_mtime_ns == modified_before
    assert [p.name for p in faq_copy.parent.iterdir()] == ["faq.yaml"]  # no temp file left


def test_a_warning_the_file_already_has_does_not_block_an_admins_addition(
    faq_copy: Path,
) -> None:
    """A reload puts a file with a quality finding live (a warning); /review's "add"
    must not refuse every question because of it, only for what the edit breaks."""
    warned = faq_copy.read_text(encoding="utf-8").replace(
        "  # --- the event\n", "  weather:\n    en: [weather]\n    es: [clima]\n  # --- the event\n"
    )
    faq_copy.write_text(warned, encoding="utf-8")
    assert [p.message for p in check_file(faq_copy).problems] == [
        "concepts.weather: no entry says it (in a question, a keyword or an answer), "
        "so its words count as unknown in a message"
    ]

    assert add_question(faq_copy, "contact", "en", "ping the press liaison") == []
    assert _contact_questions(faq_copy.read_text(encoding="utf-8"))[-1] == "ping the press liaison"
    # What the edit itself would break is still refused.
    refused = add_question(faq_copy, "contact", "en", "dates of the session please")
    assert any("answered by entry 'event'" in problem for problem in refused)
    assert not any("weather" in problem for problem in refused)


@pytest.mark.parametrize(
    ("entry_id", "language", "question", "expected"),
    [
        ("no-such-entry", "en", "who do i call", "there is no entry 'no-such-entry'"),
        ("contact", "fr", "qui appeler", "unknown language 'fr'"),
        ("contact", "en", "   \n ", "the question is empty"),
    ],
)
def test_impossible_additions_are_refused(
    faq_copy: Path, entry_id: str, language: str, question: str, expected: str
) -> None:
    before = faq_copy.read_bytes()

    problems = add_question(faq_copy, entry_id, language, question)

    assert len(problems) == 1
    assert expected in problems[0]
    assert faq_copy.read_bytes() == before


def test_flow_style_list_gets_the_question_before_its_closing_bracket(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(_with_flow_style_english_questions(_bundled_text()), encoding="utf-8")
    before = _engine(path).knowledge.entry("contact")
    assert before is not None

    assert add_question(path, "contact", "en", 'the "press" officer\'s phone') == []

    text = path.read_text(encoding="utf-8")
    [line] = [line for line in text.splitlines() if line.endswith("]  # keep me")]
    assert line.endswith(
        f'{before.questions["en"][-1]}", "the \\"press\\" officer\'s phone"]  # keep me'
    )
    after = _engine(path).knowledge.entry("contact")
    assert after is not None
    assert after.questions["en"] == (*before.questions["en"], 'the "press" officer\'s phone')


def test_multi_line_last_item_gets_the_new_line_after_its_end(tmp_path: Path) -> None:
    text = _bundled_text()
    _, questions = _contact_english_questions(text)
    last = questions.value[-1]
    source = text[last.start_mark.index : last.end_mark.index]
    assert source.startswith('"') and " " in source
    # Fold the last question over two lines: the same value, a two-line item.
    cut = source.rindex(" ")
    indent = " " * (last.start_mark.column + 2)
    folded = source[:cut] + "\n" + indent + source[cut + 1 :]
    path = tmp_path / "folded.yaml"
    path.write_text(
        text[: last.start_mark.index] + folded + text[last.end_mark.index :], encoding="utf-8"
    )
    before = _engine(path).knowledge.entry("contact")
    assert before is not None

    assert add_question(path, "contact", "en", "ping the press liaison") == []

    lines = path.read_text(encoding="utf-8").splitlines()
    position = lines.index(indent + source[cut + 1 :])
    assert lines[position + 1] == '        - "ping the press liaison"'
    assert lines[position + 2] == "      es:"
    after = _engine(path).knowledge.entry("contact")
    assert after is not None
    assert after.questions["en"] == (*before.questions["en"], "ping the press liaison")


def test_windows_line_endings_and_file_mode_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "crlf.yaml"
    path.write_bytes(_bundled_text().replace("\n", "\r\n").encode("utf-8"))
    os.chmod(path, 0o640)

    assert add_question(path, "contact", "en", "ping the press liaison") == []

    data = path.read_bytes()
    assert b'        - "ping the press liaison"\r\n      es:' in data
    assert data.count(b"\n") == data.count(b"\r\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_two_admins_adding_at_once_both_keep_their_question(faq_copy: Path) -> None:
    additions = [("en", "ping the press liaison"), ("es", "a quién aviso del informe")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda added: add_question(faq_copy, "contact", *added), additions))

    assert results == [[], []]
    entry = _engine(faq_copy).knowledge.entry("contact")
    assert entry is not None
    assert entry.questions["en"][-1] == "ping the press liaison"
    assert entry.questions["es"][-1] == "a quién aviso del informe"


def test_editing_through_a_symlink_edits_the_real_file(faq_copy: Path, tmp_path: Path) -> None:
    link = tmp_path / "live.yaml"
    link.symlink_to(faq_copy)

    assert add_question(link, "contact", "en", "ping the press liaison") == []

    assert link.is_symlink()
    assert '"ping the press liaison"' in faq_copy.read_text(encoding="utf-8")


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=80))
def test_any_question_text_is_quoted_as_one_yaml_string(text: str) -> None:
    quoted = yaml_quoted(text)

    assert "\n" not in quoted
    assert yaml.safe_load(f"- {quoted}") == [text]
