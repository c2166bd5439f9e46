"""A curator edits faq.yaml by hand; every slip is reported at the spot they have to fix.

Each test starts from the bundled file's text, breaks it in one way, and
looks up the broken spot in the text it built, so the expected line and
column never depend on the rest of the file.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import yaml

from knowledge.check import check_file, check_parsed
from knowledge.loader import MAX_FILE_BYTES, Problem, bundled_path, parse_knowledge, read_knowledge
from tests.auxil.knowledge_fixtures import (
    bundled_text,
    entry_span,
    position_in_entry,
    position_of,
    replace_once,
)

PATH = "knowledge/data/faq.yaml"


def where(problem: Problem) -> tuple[int, int]:
    return problem.line, problem.column


def answer_offset(text: str, entry_id: str) -> int:
    """Offset of the `    answer:` line of one entry."""
    start, end = entry_span(text, entry_id)
    offset = text.index("    answer:\n", start)
    assert offset < end
    return offset


def spanish_answer_span(text: str, entry_id: str) -> tuple[int, int]:
    """Offsets of the `      es: |` block of an entry's answer, with its indented lines."""
    start = text.index("      es: |\n", answer_offset(text, entry_id))
    end = start + len("      es: |\n")
    while text.startswith(("        ", "\n"), end):
        end = text.index("\n", end) + 1
    return start, end


def replace_in_spanish_answer(text: str, entry_id: str, old: str, new: str) -> str:
    start, end = spanish_answer_span(text, entry_id)
    block = text[start:end]
    return text[:start] + replace_once(block, old, new) + text[end:]


def spanish_answer_position(text: str, entry_id: str) -> tuple[int, int]:
    """Where the Spanish answer's text starts: the `|` of `es: |`."""
    start, _ = spanish_answer_span(text, entry_id)
    return position_of(text, "|", start)


# The bundled file -----------------------------------------------------------


def test_curator_checks_the_bundled_file_and_it_has_no_problems():
    result = check_file(bundled_path())

    assert [str(problem) for problem in result.problems] == []
    assert result.ok
    assert result.loaded is not None
    assert len(result.loaded.knowledge.entries) >= 20


# Schema slips ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "inserted", "key"),
    [
        ("  - id: celade\n    topic: document\n", "    colour: red\n", "colour"),
        ("  first_name: Víctor\n", "  middle_name: José\n", "middle_name"),
    ],
    ids=["entry", "contact"],
)
def test_curator_adds_a_key_the_format_does_not_know(anchor, inserted, key):
    text = replace_once(bundled_text(), anchor, anchor + inserted)

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    assert where(problem) == position_of(text, f"{key}:")
    assert f"unknown key '{key}'" in problem.message


def test_curator_forgets_the_spanish_answer_of_an_entry():
    original = bundled_text()
    answer = answer_offset(original, "celade")
    es_start, es_end = spanish_answer_span(original, "celade")
    text = original[:es_start] + original[es_end:]
    assert text.count("El CELADE es el Centro") == 0

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    # The answer mapping starts at its `en:` key; that is where the curator must add `es:`.
    expected = position_of(text, "en: |", answer)
    matching = [p for p in parsed.problems if "missing key 'es'" in p.message]
    assert [where(p) for p in matching] == [expected]
    assert "celade" in matching[0].message


def test_curator_who_forgets_one_spanish_answer_sees_only_that_mistake():
    original = bundled_text()
    es_start, es_end = spanish_answer_span(original, "celade")
    text = original[:es_start] + original[es_end:]

    parsed = parse_knowledge(text, PATH)

    assert [p.message for p in parsed.problems] == ["entry 'celade': answer: missing key 'es'"]


def test_curator_reuses_an_entry_id():
    original = bundled_text()
    start, end = entry_span(original, "celade")
    duplicate = original[start:end].rstrip("\n") + "\n"
    text = original.rstrip("\n") + "\n\n" + duplicate

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    first_line, _ = position_of(text, "- id: celade\n")
    second = text.rindex("- id: celade\n")
    assert where(problem) == position_of(text, "celade", second)
    assert f"is used twice (first on line {first_line})" in problem.message


def test_curator_relates_an_entry_to_an_id_that_does_not_exist():
    text = replace_once(
        bundled_text(), "related: [document, eclac]\n", "related: [document, eclak]\n"
    )

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    assert where(problem) == position_in_entry(text, "celade", "eclak")
    assert "related entry 'eclak' does not exist" in problem.message


QUESTION_WORDS = "    question_words: [when, where, cuando, donde]\n"


@pytest.mark.parametrize(
    ("written", "wrong", "complaint"),
    [
        ("[when, date]", "date]", "'date' is not a question word ("),
        ("[when, thanks]", "thanks]", "'thanks' is not a question word ("),
        ('[when, "what day"]', '"what day"', "question word 'what day' must be one word"),
        ('[when, "When?"]', '"When?"', "question word 'When?' is given twice"),
    ],
    ids=["a word the matcher knows", "a stop word", "two words", "twice"],
)
def test_curator_gives_the_event_a_question_word_that_cannot_work(written, wrong, complaint):
    text = replace_once(bundled_text(), QUESTION_WORDS, f"    question_words: {written}\n")

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    assert where(problem) == position_in_entry(text, "event", wrong)
    assert complaint in problem.message


def test_curator_gives_one_question_word_to_two_entries_and_is_told_which_has_it():
    text = replace_once(
        bundled_text(),
        "    related: [document, eclac]\n",
        '    question_words: ["¿Cuándo?"]\n    related: [document, eclac]\n',
    )

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    event_line, _ = position_in_entry(text, "event", "cuando")
    assert where(problem) == position_in_entry(text, "celade", '"¿Cuándo?"')
    assert f"'cuando' already opens entry 'event' (line {event_line})" in problem.message


@pytest.mark.parametrize("empty", ['""', '"   "'], ids=["empty", "blank"])
def test_curator_empties_an_english_answer(empty):
    original = bundled_text()
    answer = answer_offset(original, "celade")
    en_start = original.index("      en: |\n", answer)
    es_start, _ = spanish_answer_span(original, "celade")
    text = original[:en_start] + f"      en: {empty}\n" + original[es_start:]

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    expected = position_of(text, empty, answer)
    matching = [p for p in parsed.problems if "answer (English) is empty" in p.message]
    assert [where(p) for p in matching] == [expected]
    assert "celade" in matching[0].message


def test_curator_breaks_the_yaml_syntax():
    text = replace_once(
        bundled_text(),
        "  - id: celade\n    topic: document\n",
        "  - id: celade\n    topic: document: extra\n",
    )

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    # PyYAML stops at the second colon: "mapping values are not allowed here".
    assert where(problem) == position_of(text, ": extra")
    assert problem.message.startswith("not valid YAML: ")
    assert "mapping values are not allowed" in problem.message


# Translation slips (the checker compares the two answers of an entry) ------------


@pytest.mark.parametrize(
    ("entry_id", "old", "new", "kind", "wrong"),
    [
        ("theme", "(el siglo 21)", "(el siglo 22)", "number", "22"),
        ("contact", "(56 9) 3376207", "(56 9) 3376270", "number", "3376270"),
        (
            "contact",
            "victor.fernandez@cepal.org",
            "victor.fernandes@cepal.org",
            "e-mail",
            "victor.fernandes@cepal.org",
        ),
        (
            "more-information",
            "default.asp?idioma=IN",
            "default.asp?idioma=ES",
            "web address",
            "idioma=es",
        ),
    ],
    ids=["year", "phone", "e-mail", "web-address"],
)
def test_translator_writes_a_different_fact_in_the_spanish_answer(entry_id, old, new, kind, wrong):
    text = replace_in_spanish_answer(bundled_text(), entry_id, old, new)

    result = check_parsed(parse_knowledge(text, PATH))

    assert not result.ok
    [problem] = result.problems
    assert where(problem) == spanish_answer_position(text, entry_id)
    assert f"entry '{entry_id}'" in problem.message
    assert re.search(rf"disagree on an? {kind}:", problem.message)
    assert wrong in problem.message
    assert "only in the Spanish answer" in problem.message


def test_curator_copies_a_question_into_another_entry_and_the_self_test_reports_it():
    question = '"Who is the press contact?"'
    text = replace_once(
        bundled_text(),
        '        - "what does CELADE do"\n',
        f'        - "what does CELADE do"\n        - {question}\n',
    )
    copy = position_in_entry(text, "celade", question)
    original = position_in_entry(text, "contact", question)

    result = check_parsed(parse_knowledge(text, PATH))

    assert not result.ok
    # The two copies tie; whichever loses is reported, at its own line, and so is
    # every question of `contact` that means the same to the matcher
    # ("contacto de prensa" is the press-contact concept too).
    [problem] = [p for p in result.problems if "question 'Who is the press contact?'" in p.message]
    assert where(problem) in {copy, original}
    for reported in result.problems:
        assert "'celade'" in reported.message
        assert "'contact'" in reported.message


def test_curator_lists_a_concept_no_entry_says_and_is_told_its_words_would_count_against():
    """A concept only a reader's message would say makes that message look less
    like every entry (its words count as unknown), which no curator means."""
    text = replace_once(
        bundled_text(),
        "  # --- the event\n",
        "  weather:\n    en: [weather, forecast]\n    es: [clima, pronóstico]\n  # --- the event\n",
    )
    listed = position_of(text, "weather:")

    result = check_parsed(parse_knowledge(text, PATH))

    [problem] = result.problems
    assert where(problem) == listed
    assert "concepts.weather: no entry says it" in problem.message
    assert result.loaded is not None  # a finding: the bot still answers with it


# Hostile files ------------------------------------------------------------------


@pytest.mark.parametrize(
    "tagged",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/apply:subprocess.check_call [["touch", "{marker}"]]',
        "!include {marker}",
    ],
    ids=["os.system", "subprocess", "local-tag"],
)
def test_file_with_a_yaml_tag_is_refused_and_nothing_runs(tmp_path, tagged):
    marker = tmp_path / "pwned"
    value = tagged.format(marker=marker)
    text = replace_once(bundled_text(), "  first_name: Víctor\n", f"  first_name: {value}\n")

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    assert where(problem) == position_of(text, value)
    assert "tag" in problem.message
    assert "not allowed" in problem.message
    assert not marker.exists()


def billion_laughs(levels: int) -> str:
    names = [f"l{level}" for level in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(['"lol"'] * 9) + "]"]
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_file_is_refused_without_building_anything(monkeypatch):
    # 9**30 strings if expanded: only a refusal that never builds the tree can finish.
    text = billion_laughs(30)
    alias_count = text.count("*")

    def must_not_build(*args, **kwargs):
        raise AssertionError("the document was composed or constructed")

    for name in ("compose", "load", "safe_load", "full_load", "unsafe_load"):
        monkeypatch.setattr(yaml, name, must_not_build)

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    assert parsed.problems
    assert where(parsed.problems[0]) == position_of(text, "&l0")
    assert "anchors (&name) are not allowed" in parsed.problems[0].message
    assert any("aliases (*name) are not allowed" in p.message for p in parsed.problems)
    # It stops reading after a handful of reports instead of listing every alias.
    assert len(parsed.problems) < alias_count


def test_curator_who_reuses_text_with_an_anchor_is_told_to_write_it_out():
    text = replace_once(
        bundled_text(),
        "  organisation: {en: ECLAC, es: CEPAL}\n",
        "  organisation: &org {en: ECLAC, es: CEPAL}\n",
    )

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    assert where(problem) == position_of(text, "&org")
    assert "write the text out" in problem.message


def test_a_50_megabyte_file_is_refused_with_a_clear_message(tmp_path):
    huge = tmp_path / "faq.yaml"
    with huge.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: costs no disk and no time

    parsed = read_knowledge(huge)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    assert (problem.path, problem.line, problem.column) == (str(huge), 1, 1)
    limit = MAX_FILE_BYTES // (1024 * 1024)
    assert problem.message == f"the file is 50 MiB; at most {limit} MiB is accepted"
    assert not check_file(huge).ok


# How problems read ----------------------------------------------------------------


def test_problem_reads_path_line_column_message_like_a_compiler_error(tmp_path):
    broken = tmp_path / "my faq.yaml"
    text = replace_once(
        bundled_text(), "related: [document, eclac]\n", "related: [document, eclak]\n"
    )
    broken.write_text(text, encoding="utf-8")

    [problem] = check_file(broken).problems

    line, column = position_in_entry(text, "celade", "eclak")
    assert str(problem) == f"{broken}:{line}:{column}: {problem.message}"
    assert re.fullmatch(rf"{re.escape(str(broken))}:\d+:\d+: \S.*", str(problem))
    assert str(Problem(str(Path("a/b.yaml")), 12, 5, "boom")) == "a/b.yaml:12:5: boom"


# Telegram's limits and the commands' entries ------------------------------------------


def longer_than_allowed(length: int) -> str:
    """A sentence of exactly `length` characters, with no blank to strip at either end."""
    text = ("Start here and see every topic I know, " * 20)[: length - 1] + "."
    assert len(text) == length and text == text.strip()
    return text


@pytest.mark.parametrize(
    ("key", "length", "limit"),
    [("cmd_start", 257, 256), ("bot_short_description", 121, 120)],
    ids=["command-description", "short-description"],
)
def test_curator_writes_a_menu_text_longer_than_telegram_accepts(key, length, limit):
    """Telegram refuses it at start-up (setMyCommands, setMyShortDescription): refuse it here."""
    original = bundled_text()
    english = original.index("    en: ", original.index(f"\n  {key}:\n"))
    end_of_line = original.index("\n", english)
    value = f'"{longer_than_allowed(length)}"'
    text = original[:english] + f"    en: {value}" + original[end_of_line:]

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    assert where(problem) == position_of(text, value)
    assert f"texts.{key} (English)" in problem.message
    assert f"{length} characters long; at most {limit}" in problem.message


def test_curator_who_removes_the_entry_a_command_opens_is_told_which_command_needs_it():
    data = yaml.safe_load(bundled_text())
    data["entries"] = [entry for entry in data["entries"] if entry["id"] != "forums"]
    for entry in data["entries"]:
        entry["related"] = [other for other in entry.get("related", []) if other != "forums"]
    assert data["topics"]["forums"]["entry"] == "forums"
    data["topics"]["forums"]["entry"] = "forums-achievements"
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)

    parsed = parse_knowledge(text, PATH)

    assert parsed.knowledge is None
    [problem] = parsed.problems
    assert "/forums" in problem.message
    assert "'forums'" in problem.message
