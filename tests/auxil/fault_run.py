"""A fault run: `faqbot run` answers hundreds of questions while the fake Bot API fails at random.

The faults are those of issue 10, per send (sendMessage and sendContact): 4 %
429 with retry_after 1, 3 % 500, 3 % nginx 502 pages, 3 % connections dropped
unanswered, 2 % answers withheld past the bot's read timeout although the
message went out; and 3 % of getUpdates failing (a 500, a 502 page or a
dropped connection, a third each). The bot runs as a process with its
production settings (Telegram's flood limits, the default retry window) and
its production logging, so its log is what an operator would read.

Each question comes from its own user, so each chat holds one answer. What
the bot should send there is known beforehand: the engine's answer, rendered
as the bot renders it (the contact card, then the text, split if long). After
the run every chat is compared with it: an answer is lost (nothing came),
cut short (a part missing), repeated (a part came twice) or different (the
bot said something else). At the end the bot is stopped with SIGTERM, as
systemd stops it (and, if asked, once halfway too, then started again), and
its log lines are counted by level; a line that is not a log record (a
traceback) is counted apart. getUpdates keeps failing through the stops, so
the poll that acknowledges the last updates meets the faults too.

Used by tests/test_faults.py (a short run) and bench/bench_faults.py (400
questions over several seeds).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from handlers.render import render
from knowledge.check import check_file
from knowledge.engine import Engine
from knowledge.loader import bundled_path
from tests.auxil.bot_process import spawn_faqbot, stop, write_config
from tests.auxil.conversation import SEND_METHODS, sends
from tests.auxil.fake_bot_api import BOT_USERNAME, FakeBotAPI, RandomFaults

SEND_FAULTS = RandomFaults(
    too_many_requests=0.04, server_error=0.03, bad_gateway=0.03, dropped=0.03, withheld=0.02
)
POLL_FAULTS = RandomFaults(server_error=0.01, bad_gateway=0.01, dropped=0.01)
DATA = Path(__file__).resolve().parents[1] / "data"
QUESTION_SETS = ("dev.tsv", "holdout.tsv", "traps.tsv")
# A quarter of the questions ask for the press contact: a card, then a text.
CONTACT_SHARE = 0.25
FIRST_USER = 620_000_001
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ([A-Z]+) ")

Part = tuple[str, str]  # (method, the text, or the card's phone number)


@dataclass
class FaultRun:
    """What one run did."""

    seed: int
    questions: int
    multi_part: int  # answers of more than one message
    lost: list[int] = field(default_factory=list)  # chats
    cut_short: list[int] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)
    different: list[int] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)  # fault -> times
    log_levels: Counter[str] = field(default_factory=Counter)  # level -> lines
    other_lines: list[str] = field(default_factory=list)  # not log records
    exit_codes: list[int] = field(default_factory=list)  # of each process, in turn
    seconds: float = 0.0
    log: str = ""

    @property
    def log_lines(self) -> int:
        return sum(self.log_levels.values()) + len(self.other_lines)

    def records(self, level: str) -> list[str]:
        return [line for line in self.log.splitlines() if _level(line) == level]

    def summary(self) -> str:
        faults = ", ".join(f"{name} {count}" for name, count in sorted(self.injected.items()))
        levels = ", ".join(f"{level} {count}" for level, count in sorted(self.log_levels.items()))
        return (
            f"seed {self.seed}: {self.questions} questions ({self.multi_part} of several "
            f"messages) in {self.seconds:.1f} s; lost {len(self.lost)}, cut short "
            f"{len(self.cut_short)}, repeated {len(self.repeated)}, different "
            f"{len(self.different)}; faults injected {sum(self.injected.values())} ({faults}); "
            f"log lines {self.log_lines} ({levels}; other {len(self.other_lines)}); "
            f"exit codes {self.exit_codes}"
        )


def _level(line: str) -> str | None:
    matched = LOG_LINE.match(line)
    return matched.group(1) if matched else None


def pick_questions(count: int, seed: int) -> list[str]:
    """`count` questions from the labelled sets, a quarter for the press contact, seeded."""
    contact: list[str] = []
    others: list[str] = []
    for name in QUESTION_SETS:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if line.startswith("#") or len(fields) != 3:
                continue
            (contact if fields[0] == "contact" else others).append(fields[2])
    rng = random.Random(seed)
    return [
        rng.choice(contact) if rng.random() < CONTACT_SHARE else rng.choice(others)
        for _ in range(count)
    ]


def expected_parts(engine: Engine, question: str) -> Counter[Part]:
    """What the bot sends for a question from a new English-speaking user, part by part."""
    answer = engine.ask(question, fallback="en")
    parts: Counter[Part] = Counter()
    if answer.contact_card:
        parts[("sendContact", answer.contact.phones[0])] += 1
    for outgoing in render(answer, BOT_USERNAME):
        parts[("sendMessage", outgoing.text)] += 1
    return parts


def sent_parts(fake: FakeBotAPI, chat: int) -> Counter[Part]:
    return Counter(
        (call.method, str(call.params.get("text") or call.params.get("phone_number")))
        for call in sends(fake, chat)
    )


async def fault_run(
    fake: FakeBotAPI,
    tmp_path: Path,
    *,
    questions: int,
    seed: int,
    per_second: float = 25.0,
    timeout: float = 120.0,
    restart: bool = False,
) -> FaultRun:
    """Ask `questions` questions at `per_second` under the faults; stop the bot; compare.

    With `restart`, the bot is stopped with SIGTERM halfway and started again.
    """
    result = check_file(bundled_path())
    assert result.loaded is not None
    engine = Engine(result.loaded)
    asked = pick_questions(questions, seed)
    expected = [expected_parts(engine, question) for question in asked]
    run = FaultRun(
        seed=seed,
        questions=questions,
        multi_part=sum(1 for parts in expected if sum(parts.values()) > 1),
    )
    for method in ("sendMessage", "sendContact"):
        fake.random_faults(method, SEND_FAULTS, seed)
    fake.random_faults("getUpdates", POLL_FAULTS, seed)
    config = write_config(tmp_path, fake)
    process = await spawn_faqbot(config)
    started = time.monotonic()
    chats: list[int] = []
    logs: list[str] = []
    try:
        for number, question in enumerate(asked):
            if restart and number == len(asked) // 2:
                # Stopped mid-run, as systemd restarts it: the updates in
                # flight are finished and acknowledged, then a new process goes on.
                code, log = await stop(process, timeout=60)
                logs.append(log)
                run.exit_codes.append(code)
                process = await spawn_faqbot(config)
            update = fake.message(question, user_id=FIRST_USER + number)
            chats.append(int(update["message"]["chat"]["id"]))
            await asyncio.sleep(1 / per_second)

        wanted = {chat: sum(parts.values()) for chat, parts in zip(chats, expected, strict=True)}

        def complete() -> bool:
            sent = Counter(
                str(call.params.get("chat_id"))
                for call in fake.calls
                if call.ok and call.method in SEND_METHODS
            )
            return all(sent[str(chat)] >= count for chat, count in wanted.items())

        deadline = started + timeout
        while not complete() and time.monotonic() < deadline and process.returncode is None:
            await asyncio.sleep(0.1)
        run.seconds = time.monotonic() - started
    finally:
        # SIGTERM, as systemd stops it: the updates in flight are finished,
        # so a late duplicate would show in the comparison below.
        code, log = await stop(process, timeout=60)
        logs.append(log)
        run.exit_codes.append(code)
        run.log = "".join(logs)
    for chat, parts in zip(chats, expected, strict=True):
        sent = sent_parts(fake, chat)
        if not sent:
            run.lost.append(chat)
        elif any(count > parts[part] for part, count in sent.items() if part in parts):
            run.repeated.append(chat)
        elif any(part not in parts for part in sent):
            run.different.append(chat)
        elif sent != parts:
            run.cut_short.append(chat)
    run.injected = Counter()
    for (method, name), count in fake.injected.items():
        run.injected[f"{method} {name}"] += count
    for line in run.log.splitlines():
        level = _level(line)
        if level is None:
            run.other_lines.append(line)
        else:
            run.log_levels[level] += 1
    return run
