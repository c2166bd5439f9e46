"""What the curator reviews: unanswered and down-voted questions from the log, grouped
by similarity, re-ranked by the live knowledge base, and printed by `faqbot report`."""

from __future__ import annotations

import csv
import io
import random
import string
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.reporting import review_items
from bot.storage import DAY, Storage
from handlers.records import ReviewItem
from knowledge.engine import Engine
from tests.auxil.knowledge_fixtures import bundled_engine

# Needs the bot does not meet today: a word it has never seen ("liaison",
# "aviso") beside words it knows.
SPOKESPERSON = "ping the press liaison"
INFORME = "a quien aviso del informe"
DOWN_VOTED = "what is the headline of the press release"
NOTHING_KNOWN = "quarterly memo backlog"


@pytest.fixture
def faq_engine() -> Engine:
    return bundled_engine()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "faqbot.sqlite3"


@pytest.fixture
def storage(db_path: Path) -> Iterator[Storage]:
    store = Storage(db_path)
    yield store
    store.close()


def ask_and_log(
    storage: Storage, engine: Engine, user_id: int, text: str, at: float | None = None
) -> int:
    """What the bot does with a message: answer it, then log the answer it gave."""
    answer = engine.ask(text)
    return storage.log_question(
        user_id,
        text,
        answer.language,
        str(answer.kind),
        answer.entry_id if answer.matched else None,
        answer.suggestions[0].entry_id if answer.suggestions else None,
        answer.score,
        at,
    )


@pytest.fixture
def week_of_questions(storage: Storage, faq_engine: Engine) -> dict[str, list[int]]:
    """A week of traffic: a need the bot misses, typed four ways; a Spanish question
    whose "did you mean" users answered; a wrong answer voted down; and noise."""
    now = time.time()
    ids: dict[str, list[int]] = {"spokesperson": [], "informe": [], "down": [], "media": []}
    for user, text in enumerate(
        [
            "Ping the PRESS liaison!",
            SPOKESPERSON,
            "ping the press liason",
            "could i " + SPOKESPERSON,
        ]
    ):
        ids["spokesperson"].append(ask_and_log(storage, faq_engine, 100 + user, text, now - DAY))
    for user, text in enumerate([INFORME, "¿A quién aviso del informe?"]):
        question_id = ask_and_log(storage, faq_engine, 200 + user, text, now - 2 * DAY)
        # The third suggestion, not the first, chosen by the person who asked.
        assert storage.log_choice(200 + user, question_id, "contact")
        ids["informe"].append(question_id)
    down = ask_and_log(storage, faq_engine, 300, DOWN_VOTED, now - 3 * DAY)
    storage.log_feedback(300, "theme", -1, down)
    storage.log_feedback(301, "theme", -1, down)  # voted down twice: still one question
    ids["down"].append(down)
    ids["media"].append(ask_and_log(storage, faq_engine, 400, NOTHING_KNOWN, now - 4 * DAY))
    # Not for review: answered well, pleasantries, empty, already reviewed, too old.
    ask_and_log(storage, faq_engine, 500, "who is the press contact")
    ask_and_log(storage, faq_engine, 501, "hola")
    ask_and_log(storage, faq_engine, 502, "?!")
    ask_and_log(storage, faq_engine, 503, "visa for chile")
    storage.mark_reviewed("visa for chile", "ignore")
    ask_and_log(storage, faq_engine, 504, "how many migrants are there", now - 40 * DAY)
    return ids


def _by_text(items: list[ReviewItem]) -> dict[str, ReviewItem]:
    return {item.text: item for item in items}


def test_similar_unanswered_questions_are_one_item_counted_together(
    storage: Storage, faq_engine: Engine, week_of_questions: dict[str, list[int]]
) -> None:
    items = review_items(storage, faq_engine, since=time.time() - 7 * DAY)

    spokesperson = _by_text(items)[SPOKESPERSON]
    assert spokesperson.count == 4
    assert spokesperson.question_ids == tuple(sorted(week_of_questions["spokesperson"]))
    assert spokesperson.reason == "unanswered"
    assert spokesperson.language == "en"
    assert spokesperson.closest_id == "contact"  # the engine's best suggestion today
    assert spokesperson.chosen_id is None
    assert spokesperson.score > 0
    assert not faq_engine.ask(SPOKESPERSON).matched


def test_review_lists_only_what_needs_a_curator_biggest_group_first(
    storage: Storage, faq_engine: Engine, week_of_questions: dict[str, list[int]]
) -> None:
    items = review_items(storage, faq_engine, since=time.time() - 7 * DAY)

    # Ties in count go to the most recent first.
    assert [item.text for item in items] == [SPOKESPERSON, INFORME, DOWN_VOTED, NOTHING_KNOWN]
    assert [item.count for item in items] == [4, 2, 1, 1]
    assert review_items(storage, faq_engine, since=time.time() - 7 * DAY, limit=2) == items[:2]


def test_users_did_you_mean_choices_override_the_engines_first_guess(
    storage: Storage, faq_engine: Engine, week_of_questions: dict[str, list[int]]
) -> None:
    assert faq_engine.ask(INFORME).suggestions[0].entry_id != "contact"

    informe = _by_text(review_items(storage, faq_engine, since=time.time() - 7 * DAY))[INFORME]

    assert informe.language == "es"
    assert informe.count == 2
    assert informe.chosen_id == "contact"
    assert informe.closest_id == "contact"
    assert informe.reason == "unanswered"  # a code: /review words it, with the choice
    # The live score of the chosen entry: 0 when the engine does not even offer it.
    offered = {s.entry_id: s.score for s in faq_engine.ask(INFORME).suggestions}
    assert informe.score == round(offered.get("contact", 0.0), 1)


def test_down_voted_answer_and_fallback_are_reviewed_too(
    storage: Storage, faq_engine: Engine, week_of_questions: dict[str, list[int]]
) -> None:
    items = _by_text(review_items(storage, faq_engine, since=time.time() - 7 * DAY))

    down = items[DOWN_VOTED]
    assert (down.reason, down.count, down.closest_id) == ("down-voted", 1, "theme")
    assert down.question_ids == tuple(week_of_questions["down"])
    fallback = items[NOTHING_KNOWN]
    assert (fallback.reason, fallback.closest_id) == ("unanswered", None)


def test_reviewed_question_does_not_come_back(
    storage: Storage, faq_engine: Engine, week_of_questions: dict[str, list[int]]
) -> None:
    storage.mark_reviewed(DOWN_VOTED, "ignore")

    items = review_items(storage, faq_engine, since=time.time() - 7 * DAY)

    assert DOWN_VOTED not in _by_text(items)
    assert "visa for chile" not in _by_text(items)


def test_group_is_re_ranked_by_the_knowledge_base_live_now(
    storage: Storage, faq_engine: Engine, week_of_questions: dict[str, list[int]], tmp_path: Path
) -> None:
    from knowledge.check import check_file
    from knowledge.editing import add_question
    from knowledge.loader import bundled_path

    curated = tmp_path / "faq.yaml"
    curated.write_bytes(bundled_path().read_bytes())
    assert add_question(curated, "contact", "en", SPOKESPERSON) == []
    result = check_file(curated)
    assert result.loaded is not None
    faq_engine.swap(result.loaded)

    spokesperson = _by_text(review_items(storage, faq_engine, since=time.time() - 7 * DAY))[
        SPOKESPERSON
    ]

    assert spokesperson.closest_id == "contact"
    assert faq_engine.ask(SPOKESPERSON).matched  # answered directly now


def test_twenty_thousand_different_questions_still_give_a_review_list(
    storage: Storage, faq_engine: Engine
) -> None:
    # A spam wave or a long busy month: every wording different and unlike the others.
    # Grouping each wording against every group took minutes, on the bot's event loop.
    letters = random.Random(20_000)
    now = time.time()
    for user in range(20_000):
        wording = " ".join("".join(letters.choices(string.ascii_lowercase, k=7)) for _ in range(4))
        storage.log_question(user, wording, "en", "fallback", None, None, 0.0, now - DAY)
    for user in range(3):
        storage.log_question(user, SPOKESPERSON, "en", "fallback", None, None, 0.0, now - DAY)

    items = review_items(storage, faq_engine, since=now - 7 * DAY)

    assert len(items) == 20
    assert (items[0].text, items[0].count) == (SPOKESPERSON, 3)
    assert all(item.count == 1 for item in items[1:])


# faqbot report ---------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("FAQBOT_CONFIG", raising=False)
    path = tmp_path / "faqbot.toml"
    path.write_text(f'[storage]\npath = "{db_path.name}"\nretention_days = 90\n')
    return path


def test_report_as_csv_lists_the_groups(
    week_of_questions: dict[str, list[int]], config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(config_file), "report", "--since", "7", "--format", "csv"])

    out = capsys.readouterr().out
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "count",
        "reason",
        "language",
        "question",
        "closest_id",
        "score",
        "chosen_id",
    ]
    first = rows[0]
    assert (first["count"], first["reason"], first["language"]) == ("4", "unanswered", "en")
    assert (first["question"], first["closest_id"], first["chosen_id"]) == (
        SPOKESPERSON,
        "contact",
        "",
    )
    assert float(first["score"]) > 0
    assert [row["question"] for row in rows] == [
        SPOKESPERSON,
        INFORME,
        DOWN_VOTED,
        NOTHING_KNOWN,
    ]
    assert rows[1]["chosen_id"] == "contact"


def test_report_table_is_aligned(
    week_of_questions: dict[str, list[int]], config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_file), "report"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["count", "reason", "question", "closest", "entry", "score"]
    assert len(lines) == 5
    question_column = lines[0].index("question")
    assert all(
        line[question_column:].startswith(text)
        for line, text in zip(
            lines[1:], [SPOKESPERSON, INFORME, DOWN_VOTED, NOTHING_KNOWN], strict=True
        )
    )


def test_report_suggestions_are_yaml_a_curator_can_paste(
    week_of_questions: dict[str, list[int]], config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_file), "report", "--suggest"]) == 0

    out = capsys.readouterr().out
    suggestions = out[out.index("# entry:") :]
    assert f'# entry: contact  (questions.en)\n    - "{SPOKESPERSON}"\n' in suggestions
    assert f'# entry: contact  (questions.es)\n    - "{INFORME}"\n' in suggestions
    uncommented = "\n".join(
        line for line in suggestions.splitlines() if not line.lstrip().startswith("#")
    )
    pasted = yaml.safe_load(uncommented)
    assert isinstance(pasted, list)
    assert SPOKESPERSON in pasted
    assert INFORME in pasted
    # A down-voted answer's entry answered wrongly: it is not suggested as the target.
    assert "# entry: theme" not in suggestions


def test_report_with_nothing_to_review_says_so(
    storage: Storage, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_file), "report", "--since", "7"]) == 0

    assert capsys.readouterr().out == "No unanswered or down-voted questions in the last 7 days.\n"


def test_report_on_a_damaged_database_explains_and_exits_2(
    db_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path.write_bytes(b"not a database at all\n" * 100)

    assert main(["--config", str(config_file), "report"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"faqbot: {db_path}: the file is not a usable SQLite database")


def test_report_on_a_missing_database_does_not_create_one(
    db_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_file), "report"]) == 2

    assert "no database there" in capsys.readouterr().err
    assert not db_path.exists()
