"""How many updates a second does faqbot answer end to end, and how long does a reply take?

Run from the repository root:

    .venv/bin/python bench/bench_telegram.py            # full run, about 2 minutes
    .venv/bin/python bench/bench_telegram.py --quick    # smoke run, about 40 seconds

The fake Bot API server (tests/auxil/fake_bot_api.py) runs in this process;
each bot runs as its own process, polling it over real HTTP, so on two cores
the fake and the bot each have one. Three bots are measured in turn:

- faqbot: `python -m bot run`, flood limits raised far above Telegram's
  (overall_per_second 100000, per_chat_per_second 1000) so that the rate
  limiter measures nothing;
- echo: the smallest python-telegram-bot bot, an Application with one
  MessageHandler replying a fixed text, PTB's defaults (updates one at a
  time, no rate limiter): the framework's own limit on this machine;
- echo, like faqbot: the same bot on faqbot's HTTP client
  (bot/aiohttp_request.py) with faqbot's default `concurrent_updates`, so
  that the two differ only in what faqbot does with an update: matching,
  rendering, buttons, the question log, the rate limiter.

The machine's speed drifts by 10-20% from one minute to the next, so the
bots take turns: each round runs every bot once, and a full run has three
rounds. For each: updates per second over a burst (all updates queued at
once, from many users; the median of the rounds, and each round's figure),
the ratio faqbot/echo in each round (the two measured a few seconds apart)
and its median, which is what the target is judged on; and, from the first
round, the reply latency (update pushed into the fake -> the matching
sendMessage arriving there) p50/p99 in that burst and at a steady 25 updates
a second (Telegram's own pace for a busy bot), the resident memory of the
bot process (now and peak), and its start-up time (process start to the
first getUpdates). The target: faqbot/echo at least 0.8.

The fake answers at once, which favours a bot that handles one update at a
time: concurrency only costs CPU here. So faqbot and the echo bot also meet
a far-away Telegram (every sendMessage answered after 50 ms, as from a
server on another continent), where concurrency is what keeps up.

Last, faqbot runs once more under cProfile (from its first poll to its
stop: start-up left out) over a burst, and the profile says where the time
goes: the top functions of our modules (bot/, handlers/, knowledge/) by
cumulative time, and the share of own time spent in our code,
python-telegram-bot, the HTTP client (aiohttp and its yarl, multidict),
asyncio, and the rest.

Every question asked is one whose answer is one message, so the n-th reply
in a chat answers the n-th update of that chat (a chat's updates are handled
in order). Exit code of a full run: 0 when the ratio meets the target, 1
otherwise; --quick always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import pstats
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Runnable as `python bench/bench_telegram.py` from anywhere in the repository.
sys.path.insert(0, str(ROOT))

from bot.aiohttp_request import AiohttpRequest  # noqa: E402
from bot.config import TelegramConfig  # noqa: E402
from handlers.render import render  # noqa: E402
from knowledge.check import check_file  # noqa: E402
from knowledge.engine import Engine  # noqa: E402
from knowledge.loader import bundled_path  # noqa: E402
from tests.auxil.fake_bot_api import Call, FakeBotAPI  # noqa: E402

CONCURRENT_UPDATES = TelegramConfig.concurrent_updates

TARGET_RATIO = 0.8
PACED_RATE = 25.0  # updates per second in the latency run
REMOTE_SECONDS = 0.05  # each sendMessage's round trip when Telegram is far away
TOKEN_ENV = "FAQBOT_BENCH_TOKEN"  # the echo bot's token: never on a command line
ECHO_TEXT = "ok"
OUR_MODULES = ("bot", "handlers", "knowledge")
# Questions answered with exactly one message, in both languages; checked at start.
QUESTIONS = (
    "Where is the event held?",
    "What does ECLAC recommend?",
    "What forums are mentioned?",
    "¿Dónde se realiza el evento?",
    "¿Qué recomienda la CEPAL?",
    "visa for chile",
    "hola",
)


@dataclass(frozen=True)
class Sizes:
    burst: int  # updates in the throughput burst
    users: int  # distinct users sending them
    paced: int  # updates in the steady-rate latency run
    remote: int  # updates in the burst with a far-away Bot API
    profiled: int  # updates in the profiled burst
    rounds: int  # turns taken by the bots


FULL = Sizes(burst=4_000, users=400, paced=500, remote=600, profiled=2_000, rounds=3)
QUICK = Sizes(burst=600, users=100, paced=100, remote=100, profiled=300, rounds=1)


class StampedFake(FakeBotAPI):
    """The fake, noting when each sendMessage and the first getUpdates arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[int, list[float]] = defaultdict(list)
        self.first_poll: float | None = None

    def _record(self, call: Call) -> None:  # the one place the fake notes a call
        now = time.perf_counter()
        if call.ok and call.method == "sendMessage":
            self.replies[int(call.params["chat_id"])].append(now)
        elif call.method == "getUpdates" and self.first_poll is None:
            self.first_poll = now
        super()._record(call)


@dataclass(frozen=True)
class Round:
    """One bot's burst in one round; latency, memory and start-up from the first round only."""

    updates_per_second: float
    burst_ms: tuple[float, float]
    paced_ms: tuple[float, float] | None
    rss_mb: float
    peak_mb: float
    startup_s: float


@dataclass(frozen=True)
class Run:
    """What one bot did over all rounds."""

    name: str
    rates: tuple[float, ...]  # updates/s in each round
    burst_ms: tuple[float, float]
    paced_ms: tuple[float, float]
    rss_mb: float
    peak_mb: float
    startup_s: float

    @property
    def updates_per_second(self) -> float:
        return statistics.median(self.rates)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def memory_mb(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (the peak) of a process, in MB."""
    fields: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


async def until(done: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.005)


class Users:
    """Fresh user ids, so that each phase counts only its own chats."""

    def __init__(self) -> None:
        self._next = 500_000_001

    def take(self, count: int) -> list[int]:
        first, self._next = self._next, self._next + count
        return list(range(first, first + count))


async def burst(fake: StampedFake, users: list[int], count: int) -> tuple[float, list[float]]:
    """Queue `count` updates from `users` at once; updates/s and each one's latency."""
    pushed: dict[int, list[float]] = defaultdict(list)
    started = time.perf_counter()
    for index in range(count):
        user = users[index % len(users)]
        pushed[user].append(time.perf_counter())
        fake.message(QUESTIONS[index % len(QUESTIONS)], user_id=user)
    await until(
        lambda: all(len(fake.replies[u]) >= len(p) for u, p in pushed.items()),
        f"{count} replies",
        timeout=60 + count / 20,
    )
    last = max(fake.replies[u][len(p) - 1] for u, p in pushed.items())
    latencies = [r - p for u in pushed for p, r in zip(pushed[u], fake.replies[u], strict=False)]
    return count / (last - started), latencies


async def paced(fake: StampedFake, users: list[int], rate: float) -> list[float]:
    """One update every 1/rate seconds, each from its own user; each one's latency."""
    pushed: dict[int, float] = {}
    started = time.perf_counter()
    for index, user in enumerate(users):
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        pushed[user] = time.perf_counter()
        fake.message(QUESTIONS[index % len(QUESTIONS)], user_id=user)
    await until(lambda: all(fake.replies[u] for u in pushed), "paced replies", timeout=60)
    return [fake.replies[u][0] - t for u, t in pushed.items()]


def faqbot_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "bot", "--config", str(config), "run"]


def profiled_faqbot_command(config: Path, output: Path) -> list[str]:
    here = str(Path(__file__).resolve())
    return [sys.executable, here, "--profiled-faqbot", str(config), "--profile-output", str(output)]


def echo_command(fake: FakeBotAPI, like_faqbot: bool) -> list[str]:
    extra = ["--like-faqbot"] if like_faqbot else []
    return [sys.executable, str(Path(__file__).resolve()), "--echo-bot", fake.base_url, *extra]


def write_config(fake: FakeBotAPI, directory: Path) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\n'
        "overall_per_second = 100000\nper_chat_per_second = 1000\n"
        f'[storage]\npath = "{directory / "faqbot.sqlite3"}"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


class BotProcess:
    """A bot process polling the fake: started, warmed up with one answered update, stopped."""

    def __init__(self, fake: StampedFake, command: list[str], users: Users) -> None:
        self.fake, self.command, self.users = fake, command, users
        self.process: asyncio.subprocess.Process | None = None
        self.startup_s = 0.0

    async def __aenter__(self) -> BotProcess:
        [user] = self.users.take(1)
        self.fake.first_poll = None
        env = {
            k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "FAQBOT_CONFIG")
        }
        env[TOKEN_ENV] = self.fake.token
        started = time.perf_counter()
        # An update is waiting, so the first getUpdates returns (and is noted) as it arrives.
        self.fake.message(QUESTIONS[0], user_id=user)
        self.process = await asyncio.create_subprocess_exec(
            *self.command, cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
        )
        await until(lambda: self.fake.first_poll is not None, "the first getUpdates", 60)
        assert self.fake.first_poll is not None
        self.startup_s = self.fake.first_poll - started
        await until(lambda: bool(self.fake.replies[user]), "the warm-up reply", 60)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(self.process.communicate(), 60)
        if self.process.returncode != 0:
            print(err.decode("utf-8", "replace")[-2000:], file=sys.stderr)
            raise RuntimeError(f"{self.command[:3]} exited with {self.process.returncode}")


def p50_p99_ms(latencies: list[float]) -> tuple[float, float]:
    return percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3


async def measure(
    fake: StampedFake, command: list[str], users: Users, sizes: Sizes, with_paced: bool
) -> Round:
    async with BotProcess(fake, command, users) as bot:
        rate, burst_latencies = await burst(fake, users.take(sizes.users), sizes.burst)
        paced_ms = None
        if with_paced:
            paced_ms = p50_p99_ms(await paced(fake, users.take(sizes.paced), PACED_RATE))
        rss, peak = memory_mb(bot.pid)
    return Round(rate, p50_p99_ms(burst_latencies), paced_ms, rss, peak, bot.startup_s)


def combine(name: str, rounds: list[Round]) -> Run:
    first = rounds[0]
    assert first.paced_ms is not None
    return Run(
        name=name,
        rates=tuple(r.updates_per_second for r in rounds),
        burst_ms=first.burst_ms,
        paced_ms=first.paced_ms,
        rss_mb=first.rss_mb,
        peak_mb=first.peak_mb,
        startup_s=first.startup_s,
    )


async def measure_remote(
    fake: StampedFake, command: list[str], users: Users, sizes: Sizes
) -> float:
    """Updates/s over a burst when every sendMessage takes REMOTE_SECONDS to answer."""
    async with BotProcess(fake, command, users):
        fake.delay("sendMessage", REMOTE_SECONDS, times=None)
        try:
            rate, _ = await burst(fake, users.take(sizes.users), sizes.remote)
        finally:
            fake.clear_faults()
    return rate


def print_runs(runs: list[Run]) -> None:
    width = max(len(run.name) for run in runs)
    print(
        f"{'bot':<{width}} {'updates/s':>9}  {'each round':<16}  {'burst p50/p99 ms':>17}  "
        f"{f'{PACED_RATE:.0f}/s p50/p99 ms':>17}  {'RSS/peak MB':>11}  {'start-up s':>10}"
    )
    for run in runs:
        print(
            f"{run.name:<{width}} {run.updates_per_second:>9.0f}  "
            f"{' '.join(f'{rate:.0f}' for rate in run.rates):<16}  "
            f"{run.burst_ms[0]:>8.0f}/{run.burst_ms[1]:<8.0f}  "
            f"{run.paced_ms[0]:>8.1f}/{run.paced_ms[1]:<8.1f}  "
            f"{run.rss_mb:>5.0f}/{run.peak_mb:<5.0f}  {run.startup_s:>10.2f}"
        )


def _group(filename: str) -> str:
    path = filename.replace("\\", "/")
    if path.startswith(str(ROOT)) and "/.venv/" not in path:
        return "faqbot (bot, handlers, knowledge)"
    for marker, group in (
        ("/telegram/", "python-telegram-bot"),
        ("/aiohttp/", "HTTP client (aiohttp, yarl, multidict)"),
        ("/yarl/", "HTTP client (aiohttp, yarl, multidict)"),
        ("/multidict/", "HTTP client (aiohttp, yarl, multidict)"),
        ("/asyncio/", "asyncio"),
        ("/rapidfuzz/", "rapidfuzz"),
        ("sqlite3", "sqlite3 (the question log)"),
        ("/json/", "json"),
    ):
        if marker in path:
            return group
    return "other (stdlib, builtins)"


def print_profile(path: Path, updates: int) -> None:
    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in raw.values())
    ours = [
        (ct, f"{Path(filename).relative_to(ROOT)}:{line}({name})")
        for (filename, line, name), (_, _, _, ct, _) in raw.items()
        if filename.startswith(str(ROOT))
        and "/.venv/" not in filename
        and Path(filename).relative_to(ROOT).parts[0] in OUR_MODULES
    ]
    print(f"\nWhere faqbot's time goes (cProfile, {updates} updates, {total:.1f} s of CPU):")
    print("top 15 of our functions by cumulative time (coroutines: time while running):")
    for cumulative, where in sorted(ours, reverse=True)[:15]:
        print(f"  {cumulative:7.2f} s  {1e3 * cumulative / updates:6.2f} ms/update  {where}")
    groups: dict[str, float] = defaultdict(float)
    for (filename, _, name), (_, _, own, _, _) in raw.items():
        groups[_group(filename if filename != "~" else name)] += own
    print("own time by package:")
    for group, own in sorted(groups.items(), key=lambda item: -item[1]):
        print(f"  {100 * own / total:5.1f}%  {1e3 * own / updates:6.2f} ms/update  {group}")


async def profile_faqbot(fake: StampedFake, config: Path, users: Users, sizes: Sizes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "faqbot.prof"
        async with BotProcess(fake, profiled_faqbot_command(config, path), users):
            await burst(fake, users.take(sizes.users), sizes.profiled)
        print_profile(path, sizes.profiled)


def check_questions() -> None:
    """Every question's answer is one message (the latency pairing relies on it)."""
    checked = check_file(bundled_path())
    assert checked.loaded is not None
    engine = Engine(checked.loaded)
    for question in QUESTIONS:
        answer = engine.ask(question)
        card = answer.contact_card
        if card or len(render(answer)) != 1:
            raise SystemExit(f"bench question {question!r} is not answered with one message")


async def bench(sizes: Sizes, quick: bool) -> int:
    check_questions()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"faqbot end-to-end benchmark{' (quick)' if quick else ''}, "
        f"{datetime.date.today().isoformat()}: {os.cpu_count()} CPUs, load average {load}; "
        f"burst of {sizes.burst} updates from {sizes.users} users, then {sizes.paced} "
        f"at {PACED_RATE:.0f}/s; long polling against the fake Bot API over HTTP\n"
    )
    users = Users()
    async with StampedFake() as fake:
        with tempfile.TemporaryDirectory() as directory:
            config = write_config(fake, Path(directory))
            bots = {
                "faqbot": faqbot_command(config),
                "echo (PTB defaults)": echo_command(fake, False),
                f"echo (like faqbot: aiohttp, {CONCURRENT_UPDATES} at once)": echo_command(
                    fake, True
                ),
            }
            rounds: dict[str, list[Round]] = {name: [] for name in bots}
            for turn in range(sizes.rounds):
                for name, command in bots.items():
                    rounds[name].append(await measure(fake, command, users, sizes, turn == 0))
            runs = [combine(name, measured) for name, measured in rounds.items()]
            print_runs(runs)
            ratios = [f / e for f, e in zip(runs[0].rates, runs[1].rates, strict=True)]
            likes = [f / e for f, e in zip(runs[0].rates, runs[2].rates, strict=True)]
            ratio = statistics.median(ratios)
            verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
            print(
                f"\nfaqbot/echo: {ratio:.2f}, median of the rounds' "
                f"{', '.join(f'{r:.2f}' for r in ratios)} (target >= {TARGET_RATIO}: {verdict})"
                f"\nfaqbot/echo on the same HTTP client and concurrency: "
                f"{statistics.median(likes):.2f} ({', '.join(f'{r:.2f}' for r in likes)})"
            )
            print(f"faqbot start-up (process start to first getUpdates): {runs[0].startup_s:.2f} s")
            remote = [
                await measure_remote(fake, command, users, sizes)
                for command in (faqbot_command(config), echo_command(fake, False))
            ]
            print(
                f"\nWith Telegram {1e3 * REMOTE_SECONDS:.0f} ms away (each sendMessage answered "
                f"after {1e3 * REMOTE_SECONDS:.0f} ms), burst of {sizes.remote}: faqbot "
                f"{remote[0]:.0f} updates/s, echo (PTB defaults) {remote[1]:.0f} updates/s, "
                f"faqbot/echo {remote[0] / remote[1]:.2f}"
            )
            await profile_faqbot(fake, config, users, sizes)
    if quick:
        print("\n(quick run: too few updates to judge the target; the exit code ignores it)")
        return 0
    return 0 if ratio >= TARGET_RATIO else 1


def run_echo_bot(base_url: str, like_faqbot: bool) -> None:
    """The reference: python-telegram-bot's smallest bot, replying a fixed text."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is not None:
            await update.effective_message.reply_text(ECHO_TEXT)

    builder = Application.builder().token(os.environ[TOKEN_ENV]).base_url(base_url)
    if like_faqbot:
        builder = (
            builder.concurrent_updates(CONCURRENT_UPDATES)
            .request(AiohttpRequest(CONCURRENT_UPDATES + 2))
            .get_updates_request(AiohttpRequest())
        )
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


def run_profiled_faqbot(config_path: str, output: str) -> None:
    """faqbot as `faqbot run` starts it, profiled from the first poll to the last."""
    import cProfile

    from telegram import Update

    from bot.app import build_application, open_backend
    from bot.config import load_config

    config = load_config(config_path)
    backend = open_backend(config)
    application = build_application(config, backend)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    finally:
        profiler.disable()
        backend.close()
        profiler.dump_stats(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few updates: a smoke run")
    parser.add_argument("--echo-bot", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--like-faqbot", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profiled-faqbot", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--profile-output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.echo_bot:
        run_echo_bot(args.echo_bot, args.like_faqbot)
        return 0
    if args.profiled_faqbot:
        run_profiled_faqbot(args.profiled_faqbot, args.profile_output)
        return 0
    return asyncio.run(bench(QUICK if args.quick else FULL, args.quick))


if __name__ == "__main__":
    sys.exit(main())
