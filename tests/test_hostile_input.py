"""Whatever people type, press or put in the knowledge base, the bot stays valid and up.

Property tests feed the engine and the renderer every kind of text (the whole
Unicode range, control characters, zero-width and right-to-left marks, HTML
and Markdown syntax) and check each reply as Telegram would: HTML it parses,
a visible length it accepts, buttons whose data fits. Button payloads are
parsed strictly: only what `encode` wrote comes back as a payload. Hostile
knowledge base files are refused by a reload, and the live one keeps answering.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit
from telegram.ext import Application

from handlers import callback_data
from handlers.callback_data import Choose, Open, Review, Vote
from handlers.render import render
from knowledge.check import check_file
from knowledge.engine import Engine
from knowledge.loader import MAX_FILE_BYTES, bundled_path
from knowledge.reload import Reloader
from tests.auxil import bot_api_rules
from tests.auxil.conversation import ask, engine_of, press, sends
from tests.auxil.fake_bot_api import FakeBotAPI
from tests.auxil.telegram_html import utf16_len, validate_html

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Characters that break naive renderers: controls, zero-width joiners and BOM,
# right-to-left marks and overrides, HTML and Markdown syntax.
CONTROL = [chr(c) for c in (*range(0x00, 0x20), 0x7F, 0x85)]
INVISIBLE = ["\u200b", "\u200d", "\ufeff", "\u200f", "\u202e", "\u2066", "\u00ad"]
MARKUP = ["<b>", "</b>", "</a>", "<a href='x'>", "&amp;", "&", "&lt", "<", ">", '"']
MARKDOWN = ["*", "_", "[", "]", "(", ")", "`", "```", "~", "||", "\\"]
# Words the knowledge base knows, so that generated text also reaches answers,
# "did you mean" and the contact card, not only the fallback.
KNOWN = ["migration", "forum", "press contact", "recomendaciones", "evento", "Puebla", "hola"]

any_text = st.text(max_size=MessageLimit.MAX_TEXT_LENGTH)  # every code point but surrogates
hostile_text = st.lists(
    st.sampled_from(CONTROL + INVISIBLE + MARKUP + MARKDOWN + KNOWN)
    | st.text(min_size=1, max_size=8),
    max_size=400,
).map(lambda parts: " ".join(parts)[: MessageLimit.MAX_TEXT_LENGTH])
message_text = any_text | hostile_text


@pytest.fixture(scope="module")
def engine() -> Engine:
    result = check_file(bundled_path())
    assert result.ok and result.loaded is not None
    return Engine(result.loaded)


def assert_sendable(engine: Engine, question: str) -> None:
    """Every message an answer renders to would be accepted by sendMessage."""
    answer = engine.ask(question)
    messages = render(answer, "faq_test_bot", question_id=123_456_789)
    assert messages
    for message in messages:
        visible = validate_html(message.text).strip()
        assert 1 <= utf16_len(visible) <= MessageLimit.MAX_TEXT_LENGTH
        if message.keyboard is not None:
            bot_api_rules.check_reply_markup(message.keyboard.to_dict())
            for row in message.keyboard.inline_keyboard:
                for button in row:
                    if button.callback_data is not None:
                        size = len(str(button.callback_data).encode("utf-8"))
                        assert 1 <= size <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA


@PROPERTY
@given(question=message_text)
def test_any_message_gets_a_reply_telegram_accepts(engine: Engine, question: str) -> None:
    assert_sendable(engine, question)


@PROPERTY
@given(
    question=st.lists(st.sampled_from(CONTROL + INVISIBLE + MARKUP + MARKDOWN), max_size=1500).map(
        lambda parts: "".join(parts)[: MessageLimit.MAX_TEXT_LENGTH]
    )
)
def test_a_message_of_only_markup_and_invisible_characters_gets_a_valid_reply(
    engine: Engine, question: str
) -> None:
    assert_sendable(engine, question)


def test_a_maximal_message_in_both_languages_gets_a_valid_reply(engine: Engine) -> None:
    for word in ("migration ", "migración ", "<b>&amp;\u202e "):
        question = (word * MessageLimit.MAX_TEXT_LENGTH)[: MessageLimit.MAX_TEXT_LENGTH]
        assert_sendable(engine, question)


# Button payloads ---------------------------------------------------------------

entry_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,39}", fullmatch=True)
languages = st.sampled_from(["en", "es"])
row_ids = st.integers(min_value=0, max_value=10**12 - 1)
payloads = st.one_of(
    st.builds(Open, entry_ids, languages),
    st.builds(Choose, entry_ids, languages, row_ids),
    st.builds(Vote, entry_ids, languages, st.booleans(), row_ids),
    st.builds(
        Review,
        st.sampled_from(["add", "pick", "ignore"]),
        row_ids,
        entry_ids | st.just(""),
    ),
)


def _replace_field(payload: callback_data.Payload, index: int, value: str) -> str:
    fields = callback_data.encode(payload).split("|")
    fields[index % len(fields)] = value
    return "|".join(fields)


# What a client could send: any text, bytes read as text (lone surrogates
# included), and our own format with one field swapped for a near miss.
near_misses = st.builds(
    _replace_field,
    payloads,
    st.integers(min_value=0, max_value=4),
    st.sampled_from(["", "007", "-1", "1.0", "²", "١٢", "1\n", "Event", "event\n", "a" * 41, "x"])
    | st.text(max_size=4),
)
forged = (
    st.text(max_size=80)
    | st.binary(max_size=80).map(lambda raw: raw.decode("utf-8", "surrogateescape"))
    | near_misses
)


@PROPERTY
@given(data=forged)
def test_decode_never_raises_and_accepts_only_what_encode_writes(data: str) -> None:
    payload = callback_data.decode(data)
    if payload is not None:
        assert callback_data.encode(payload) == data


@PROPERTY
@given(payload=payloads)
def test_every_payload_survives_the_round_trip_within_64_bytes(
    payload: callback_data.Payload,
) -> None:
    data = callback_data.encode(payload)
    assert 1 <= len(data.encode("utf-8")) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    assert callback_data.decode(data) == payload


FORGED = [
    "o|en|no-such-entry",  # well formed, unknown id
    "v|en|+|1|no-such-entry",  # a vote for nothing
    "c|en|007|event",  # not how encode writes a number
    "o|en|event\n",
    "o|fr|event",
    "<b>hi</b>",
    "x" * 64,
]


async def test_forged_buttons_get_a_short_notice_and_nothing_else(
    running_bot: tuple[Application, FakeBotAPI],
) -> None:
    app, fake = running_bot
    [greeting] = await ask(fake, "/start")
    chat = int(greeting.params["chat_id"])
    since = len(fake.calls)
    expired = engine_of(app).text("button_expired", "en")
    for data in FORGED:
        pressed = await press(fake, data, greeting.result, check_buttons=False)
        assert pressed.notice == expired, data
        assert 1 <= utf16_len(expired) <= 200  # shown as a toast: answerCallbackQuery's limit
    # One chat's updates are handled in order: by the next reply, all presses were handled.
    [reply] = await ask(fake, "/help")
    assert [c for c in sends(fake, chat, since) if c is not reply] == []
    assert fake.errors() == []


@pytest.mark.parametrize(
    "data",
    [
        "o|en|" + "a" * 60,  # 65 bytes: Telegram would never deliver it
        "o|en|Events",
        "o|fr|event",
        "o|en|event\n",
        "c|en|007|event",
        "c|en|²|event",
        "v|en|*|1|event",
        "r|drop|1|event",
        "",
        "|||",
    ],
)
def test_forged_payloads_are_not_ours(data: str) -> None:
    assert callback_data.decode(data) is None


# Hostile knowledge base files --------------------------------------------------

OBJECT_TAG = """\
version: 1
texts: !!python/object/apply:os.system ["touch {marker}"]
topics: {{}}
contact: {{}}
entries: []
"""

BILLION_LAUGHS = "\n".join(
    [
        "version: 1",
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)),
        "texts: *a9",
        "topics: *a9",
        "contact: *a9",
        "entries: *a9",
    ]
)


@pytest.fixture
def live(tmp_path: Path) -> tuple[Engine, Reloader, Path]:
    """An engine answering from a copy of the bundled file, and its reloader."""
    path = tmp_path / "faq.yaml"
    path.write_text(bundled_path().read_text(encoding="utf-8"), encoding="utf-8")
    result = check_file(path)
    assert result.loaded is not None
    engine = Engine(result.loaded)
    return engine, Reloader(engine, path), path


def refused_keeps_live(live: tuple[Engine, Reloader, Path], content: str | bytes) -> str:
    """Write `content` over the file, reload, check nothing changed; return the problems."""
    engine, reloader, path = live
    before = engine.knowledge
    asked_before = engine.ask("who is the press contact?")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    outcome = reloader.reload()
    assert not outcome.ok
    assert outcome.problems
    assert engine.knowledge is before
    assert engine.ask("who is the press contact?") == asked_before
    return "\n".join(str(problem) for problem in outcome.problems)


def test_a_yaml_tag_that_runs_a_command_is_refused_and_never_run(
    live: tuple[Engine, Reloader, Path], tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    problems = refused_keeps_live(live, OBJECT_TAG.format(marker=marker))
    assert "tag:yaml.org,2002:python/object/apply:os.system" in problems
    assert "not allowed" in problems
    assert not marker.exists()


def test_a_billion_laughs_file_is_refused_before_it_expands(
    live: tuple[Engine, Reloader, Path],
) -> None:
    problems = refused_keeps_live(live, BILLION_LAUGHS)
    assert "anchors (&name) are not allowed" in problems


def test_a_50_mb_file_is_refused_unread(live: tuple[Engine, Reloader, Path]) -> None:
    size = 50 * 1024 * 1024
    assert size > MAX_FILE_BYTES
    line = b"# " + b"x" * 1021 + b"\n"
    problems = refused_keeps_live(live, line * (size // len(line)))
    assert "50 MiB" in problems
    assert "at most" in problems
