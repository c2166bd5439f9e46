"""The `faqbot` command line, run the way a person or a script runs it: in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.loader import bundled_path
from tests.auxil.knowledge_fixtures import (
    bundled_engine,
    bundled_entry,
    bundled_text,
    position_in_entry,
    replace_once,
)

ROOT = Path(__file__).parents[1]
JSON_KEYS = {
    "question",
    "matched",
    "entry_id",
    "score",
    "confidence",
    "language",
    "answer",
    "suggestions",
}
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def faqbot(*args: str, stdin: str | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FAQBOT_CONFIG", "TELEGRAM_BOT_TOKEN")}
    env["PYTHONUTF8"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        **kwargs,
    )


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def assert_follows_the_json_contract(reply: dict) -> None:
    assert set(reply) == JSON_KEYS
    assert isinstance(reply["question"], str)
    assert isinstance(reply["matched"], bool)
    assert reply["entry_id"] is None or isinstance(reply["entry_id"], str)
    assert isinstance(reply["score"], int | float) and not isinstance(reply["score"], bool)
    assert 0 <= reply["score"] <= 100
    assert 0 <= reply["confidence"] <= 1
    assert reply["language"] in ("en", "es")
    assert isinstance(reply["answer"], str) and reply["answer"].strip()
    assert not HTML_TAG.search(reply["answer"])
    assert isinstance(reply["suggestions"], list)
    for suggestion in reply["suggestions"]:
        assert set(suggestion) == {"entry_id", "question", "score"}
        assert isinstance(suggestion["entry_id"], str)
        assert isinstance(suggestion["question"], str)
        assert isinstance(suggestion["score"], int | float)
        assert 0 <= suggestion["score"] <= 100
    assert reply["matched"] == (reply["entry_id"] is not None)


# faqbot ask ----------------------------------------------------------------------------


def test_script_asks_for_the_press_contact_phone_and_gets_one_json_line():
    run = faqbot("ask", "--json", "what is the phone number of the press contact")

    assert run.returncode == 0, run.stderr
    [line] = run.stdout.splitlines()
    reply = json.loads(line)
    assert_follows_the_json_contract(reply)
    assert reply["question"] == "what is the phone number of the press contact"
    assert reply["matched"] is True
    assert reply["entry_id"] == "contact"
    assert reply["language"] == "en"
    assert "(56 9) 3376207" in reply["answer"]
    assert "victor.fernandez@cepal.org" in reply["answer"]
    assert reply["suggestions"] == []


def test_script_pipes_three_questions_and_reads_three_answers_in_order():
    questions = [
        "who wrote the document on migration and human rights",
        "¿qué foros tratan la migración en la región?",
        "receta de paella",
    ]

    run = faqbot("ask", "--json", stdin="\n".join(questions) + "\n")

    assert run.returncode == 0, run.stderr
    replies = json_lines(run.stdout)
    for reply in replies:
        assert_follows_the_json_contract(reply)
    assert [r["question"] for r in replies] == questions
    assert [r["entry_id"] for r in replies] == ["document", "forums", None]
    assert [r["language"] for r in replies] == ["en", "es", "es"]
    assert replies[2]["matched"] is False


def test_unsure_answer_lists_its_suggestions_in_json():
    run = faqbot("ask", "--json", "hoteles en montevideo")

    assert run.returncode == 0, run.stderr
    [reply] = json_lines(run.stdout)
    assert_follows_the_json_contract(reply)
    assert reply["matched"] is False
    assert 1 <= len(reply["suggestions"]) <= 3
    for number, suggestion in enumerate(reply["suggestions"], 1):
        assert f"[{number}] {suggestion['question']}" in reply["answer"]  # as the chat shows it


def test_spanish_speaker_forces_spanish_with_lang():
    run = faqbot("ask", "--json", "--lang", "es", "who is the press contact")

    assert run.returncode == 0, run.stderr
    [reply] = json_lines(run.stdout)
    assert reply["language"] == "es"
    assert reply["entry_id"] == "contact"
    # The answer, then the press contact's details, as Telegram shows them too.
    assert reply["answer"].startswith(bundled_entry("contact").answer.es)
    assert "📱 +56 9 3376207" in reply["answer"]


def test_script_passes_an_empty_question_and_gets_the_empty_question_reply():
    run = faqbot("ask", "--json", "", stdin="")

    assert run.returncode == 0, run.stderr
    [reply] = json_lines(run.stdout)
    assert reply["question"] == ""
    assert reply["matched"] is False


# faqbot check -----------------------------------------------------------------------------


def test_curator_checks_the_bundled_file():
    run = faqbot("check", str(bundled_path()))

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith(f"{bundled_path()}: OK, ")


def test_curator_checks_a_broken_copy_and_is_told_where(tmp_path):
    broken = tmp_path / "faq.yaml"
    text = replace_once(
        bundled_text(), "related: [document, eclac]\n", "related: [document, eclak]\n"
    )
    broken.write_text(text, encoding="utf-8")
    line, column = position_in_entry(text, "celade", "eclak")

    run = faqbot("check", str(broken))

    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        f"{broken}:{line}:{column}: entry 'celade': related entry 'eclak' does not exist"
    ]
    assert "1 problem(s)" in run.stderr


# faqbot eval ------------------------------------------------------------------------------


def test_curator_measures_the_dev_set_and_reads_a_row_per_language():
    run = faqbot("eval", "--quiet", "--max-wrong", "0.05", "tests/data/dev.tsv")

    assert run.returncode == 0, run.stdout + run.stderr
    rows = run.stdout.splitlines()
    percent = r"\d+\.\d%\s+\(\d+/\d+\)"
    for group in ("all", "en", "es"):
        [row] = [row for row in rows if row.startswith(f"{group} ")]
        # answered right, answered wrong, choices right first, refused, language
        assert len(re.findall(percent, row)) == 5, row
    assert "as the answer threshold moves" in run.stdout


def test_curator_measures_a_facts_labelled_set_by_style(tmp_path):
    labels = tmp_path / "field.yaml"
    labels.write_text(
        "- {q: 'who is the press contact', lang: en, kind: in, facts: [['fernandez']], "
        "style: plain}\n"
        "- {q: 'correo del vocero', lang: es, kind: in, facts: [['victor.fernandez@cepal.org']], "
        "style: chat}\n"
        "- {q: 'where is the session held', lang: en, kind: in, facts: [['santiago']], "
        "style: plain}\n"
        "- {q: 'best hotels in Montevideo', lang: en, kind: out, facts: [], style: trap}\n",
        encoding="utf-8",
    )

    run = faqbot("eval", "--min-right", "0.6", "--max-wrong", "0.4", str(labels))

    rows = {row.split()[0]: row for row in run.stdout.splitlines() if row.strip()}
    # The session is in Montevideo: an answer without "santiago" is a wrong answer.
    assert "66.7% (2/3)" in rows["all"] and "33.3% (1/3)" in rows["all"]
    assert "100.0% (1/1)" in rows["trap"]
    assert "100.0% (1/1)" in rows["chat"]
    assert run.returncode == 0, run.stdout


def test_curator_asks_why_and_sees_the_policy_at_work():
    run = faqbot("ask", "--explain", "who is the press contact")

    assert run.returncode == 0, run.stderr
    assert "-- why --" in run.stdout
    assert "first entry contact" in run.stdout
    assert re.search(r"policy probability 0\.\d{3} \(answers at >= 0\.\d+\)", run.stdout)
    assert re.search(r"known_words\s+\d\.\d{3}\s+adds [+-]\d", run.stdout)


def test_evaluation_below_target_fails_the_command(tmp_path):
    labels = tmp_path / "wrong.tsv"
    labels.write_text(
        "contact\ten\twho wrote the document on migration and human rights\n"
        "celade\ten\twhat is the phone number of the press contact\n",
        encoding="utf-8",
    )

    run = faqbot("eval", str(labels))

    assert "0.0% (0/2)" in run.stdout
    assert run.returncode == 1


# Configuration mistakes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[matching]\nanswer_treshold = 70\n", "matching.answer_treshold"),
        ('[storage]\nretention_days = "ten"\n', "storage.retention_days"),
    ],
    ids=["misspelt-key", "wrong-type"],
)
def test_admin_with_a_config_mistake_gets_one_line_naming_the_key(tmp_path, toml, named):
    config = tmp_path / "faqbot.toml"
    config.write_text(toml, encoding="utf-8")

    run = faqbot("--config", str(config), "ask", "who is the press contact")

    assert run.returncode == 2
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert named in line
    assert line.startswith("faqbot: config error: ")


def test_admin_points_config_at_a_missing_file(tmp_path):
    missing = tmp_path / "nope.toml"

    run = faqbot("ask", "--config", str(missing), "who is the press contact")

    assert run.returncode == 2
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert str(missing) in line
    assert "not found" in line


# faqbot chat -------------------------------------------------------------------------------------


def test_visitor_chats_in_the_terminal_picks_choices_by_number_and_quits():
    knowledge = bundled_engine().knowledge
    topic_numbers = {topic.entry: n for n, topic in enumerate(knowledge.topics, 1)}
    unsure = bundled_engine().ask("hoteles en montevideo")
    assert unsure.suggestions, "the chat scenario needs a 'did you mean' question"
    suggested = knowledge.entry(unsure.suggestions[0].entry_id)
    script = [
        str(topic_numbers["recommendations"]),  # a topic button of the welcome
        "who wrote the document on migration and human rights",
        "/contact",
        "hoteles en montevideo",  # unsure: "did you mean" with numbered choices
        "1",
        "quit",
        "networks of emigrant scientists",  # after quit: never read
    ]

    run = faqbot("chat", stdin="\n".join(script) + "\n")

    assert run.returncode == 0, run.stderr
    out = run.stdout
    expected_in_order = [
        knowledge.text("greeting", "en"),
        f"== {knowledge.entry('recommendations').title.en} ==",
        f"== {knowledge.entry('document').title.en} ==",
        f"== {knowledge.entry('contact').title.en} ==",
        "victor.fernandez@cepal.org",
        knowledge.text("did_you_mean", "es"),
        f"  [1] {unsure.suggestions[0].question}",
        f"== {suggested.title.es} ==",
    ]
    position = 0
    for expected in expected_in_order:
        found = out.find(expected.strip(), position)
        assert found >= 0, f"{expected!r} missing (or out of order) in:\n{out}"
        position = found + 1
    assert f"== {knowledge.entry('rec-diaspora-networks').title.en} ==" not in out


def test_visitor_leaves_the_chat_with_ctrl_d():
    run = faqbot("chat", stdin="¿quién es el contacto de prensa?\n")

    assert run.returncode == 0, run.stderr
    assert bundled_entry("contact").answer.es.strip() in run.stdout
