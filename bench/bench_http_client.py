"""Which HTTP client should faqbot send its requests through, at Telegram's real operating point?

Run from the repository root:

    .venv/bin/python bench/bench_http_client.py                # 60 s a client, about 3 minutes
    .venv/bin/python bench/bench_http_client.py --seconds 20   # a shorter run
    .venv/bin/python bench/bench_http_client.py --rounds 2     # A B B A, against drift

The question of issue 10: does the bot's own client (bot/aiohttp_request.py,
aiohttp behind python-telegram-bot's `BaseRequest`) earn its keep against
python-telegram-bot's default, `HTTPXRequest` (httpx), where the bot really
works? Not in a burst against a server next door (bench/bench_telegram.py),
but at Telegram's pace: 30 incoming messages a second, each answered, with
every request taking a 50 ms round trip.

The fake Bot API (tests/auxil/fake_bot_api.py) runs in this process and
holds every answer 50 ms before sending it (getUpdates included), so each
request's round trip is 50 ms plus the work. The bot runs as its own
process: the real application of `build_application`, with the production
settings (Telegram's flood limits, 8 updates at once, the retry window) and
logging, once on the bot's own clients and once on `HTTPXRequest` (the same
pool size and pool timeout for sending; PTB's one-connection default for
getUpdates). Nothing else differs: same limiter, handlers, storage.

For each client, after a warm-up, users send one question each at a steady
30 a second for `--seconds`; every question is one answered with a single
message (checked at start). Measured:

- CPU per update: the bot process's CPU time (user + system, from
  /proc/<pid>/stat) from the first question to the last answer, divided by
  the updates answered;
- reply latency p50/p99/max: the user's message put into the fake -> the
  answer's sendMessage arriving at the fake (so it includes the 50 ms in
  which getUpdates' answer travels back, the bot's work and any wait in the
  rate limiter, but not the 50 ms of sendMessage's own answer);
- answers lost: questions with no answer 30 s after the last one was asked.

It prints one line per client and round, and the ratios httpx / aiohttp of
CPU per update and of p99 (above 1: aiohttp is better). No target and no
exit code beyond errors: the figures decide, in the README.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Runnable as `python bench/bench_http_client.py` from anywhere in the repository.
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

# The same questions (each answered with one message, checked) and fresh users.
from bench.bench_telegram import QUESTIONS, Users, check_questions  # noqa: E402
from tests.auxil.bot_process import write_config  # noqa: E402
from tests.auxil.fake_bot_api import Call, FakeBotAPI  # noqa: E402

CLIENTS = ("aiohttp", "httpx")
RATE = 30.0  # incoming messages a second: Telegram's limit on a bot's sends
ROUND_TRIP = 0.050  # seconds each Bot API answer is held: a server on another continent
WARM_UP = 60  # questions answered before measuring (imports, first connections)
DRAIN_SECONDS = 30.0  # after the last question: beyond it, an unanswered one is lost


class FarFake(FakeBotAPI):
    """The fake Bot API, 50 ms away: each answer held ROUND_TRIP, each sendMessage noted.

    A request is carried out as it arrives and its answer sent ROUND_TRIP
    later, so the time noted for a sendMessage is when Telegram would have
    received it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.answered_at: dict[int, float] = {}  # chat -> first sendMessage's arrival

    def _record(self, call: Call) -> None:  # the one place the fake notes a call
        if call.ok and call.method == "sendMessage":
            self.answered_at.setdefault(int(call.params["chat_id"]), time.perf_counter())
        super()._record(call)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        response = await super()._dispatch(request)
        await asyncio.sleep(ROUND_TRIP)
        return response


@dataclass(frozen=True)
class Measured:
    """One client's run."""

    client: str
    asked: int
    answered: int
    cpu_seconds: float
    latencies: list[float]  # seconds, of the answered questions

    @property
    def lost(self) -> int:
        return self.asked - self.answered

    @property
    def cpu_ms_per_update(self) -> float:
        return 1e3 * self.cpu_seconds / max(self.answered, 1)

    def latency_ms(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return 1e3 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def line(self) -> str:
        return (
            f"{self.client:<8} asked {self.asked:>5}  answered {self.answered:>5}  "
            f"lost {self.lost:>3}  CPU {self.cpu_seconds:6.2f} s = "
            f"{self.cpu_ms_per_update:5.2f} ms/update  latency p50 {self.latency_ms(0.5):6.1f} "
            f"p99 {self.latency_ms(0.99):6.1f} max {self.latency_ms(1.0):6.1f} ms"
        )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux: /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # The command name (field 2) may hold spaces; the fields after it are numbers.
        fields = stat.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


async def until(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def ask_steadily(fake: FarFake, users: list[int]) -> dict[int, float]:
    """One question from each user, RATE a second; when each was asked."""
    asked: dict[int, float] = {}
    started = time.perf_counter()
    for index, user in enumerate(users):
        await asyncio.sleep(max(0.0, started + index / RATE - time.perf_counter()))
        asked[user] = time.perf_counter()
        fake.message(QUESTIONS[index % len(QUESTIONS)], user_id=user)
    return asked


async def measure(
    fake: FarFake, config: Path, client: str, users: Users, seconds: float
) -> Measured:
    """Start the bot on `client`, warm it up, ask for `seconds` at RATE, stop it."""
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "FAQBOT_CONFIG")}
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).resolve()),
            "--bot",
            str(config),
            "--client",
            client,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stderr=log,  # a file, not a pipe: a full pipe would stall the bot
        )
        try:
            warm = users.take(WARM_UP)
            await ask_steadily(fake, warm)
            if not await until(lambda: all(u in fake.answered_at for u in warm), 60):
                raise RuntimeError(f"the bot on {client} did not answer the warm-up")
            measured = users.take(round(seconds * RATE))
            cpu_before = cpu_seconds(process.pid)
            asked = await ask_steadily(fake, measured)
            await until(lambda: all(u in fake.answered_at for u in measured), DRAIN_SECONDS)
            cpu = cpu_seconds(process.pid) - cpu_before
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 60)
            log.seek(0)
            text = log.read().decode("utf-8", "replace")
    if code != 0:
        raise RuntimeError(f"the bot on {client} exited with {code}:\n{text[-3000:]}")
    latencies = [fake.answered_at[u] - t for u, t in asked.items() if u in fake.answered_at]
    return Measured(client, len(asked), len(latencies), cpu, latencies)


async def bench(seconds: float, rounds: int) -> int:
    check_questions()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"HTTP client benchmark, {datetime.date.today().isoformat()}: {os.cpu_count()} CPUs, "
        f"load average {load}; {RATE:.0f} questions/s for {seconds:.0f} s a client and round, "
        f"every Bot API answer held {1e3 * ROUND_TRIP:.0f} ms",
        flush=True,
    )
    # A B, then B A, ...: the machine's drift falls on both clients alike.
    order = [c for turn in range(rounds) for c in (CLIENTS if turn % 2 == 0 else CLIENTS[::-1])]
    runs: dict[str, list[Measured]] = {client: [] for client in CLIENTS}
    users = Users()
    async with FarFake() as fake:
        with tempfile.TemporaryDirectory() as directory:
            config = write_config(Path(directory), fake)
            for client in order:
                run = await measure(fake, config, client, users, seconds)
                runs[client].append(run)
                print(run.line(), flush=True)
    whole = {
        client: Measured(
            client,
            sum(r.asked for r in measured),
            sum(r.answered for r in measured),
            sum(r.cpu_seconds for r in measured),
            [latency for r in measured for latency in r.latencies],
        )
        for client, measured in runs.items()
    }
    aio, httpx = whole["aiohttp"], whole["httpx"]
    if rounds > 1:
        print("all rounds:")
        for run in whole.values():
            print(run.line())
    cpu_ratios = [
        h.cpu_ms_per_update / a.cpu_ms_per_update
        for a, h in zip(runs["aiohttp"], runs["httpx"], strict=True)
    ]
    print(
        f"httpx / aiohttp: CPU per update {httpx.cpu_ms_per_update / aio.cpu_ms_per_update:.2f}"
        f" (each round {', '.join(f'{r:.2f}' for r in cpu_ratios)}; median "
        f"{statistics.median(cpu_ratios):.2f}), p99 latency "
        f"{httpx.latency_ms(0.99) / aio.latency_ms(0.99):.2f}, p50 "
        f"{httpx.latency_ms(0.5) / aio.latency_ms(0.5):.2f}; answers lost "
        f"{aio.lost} (aiohttp), {httpx.lost} (httpx)"
    )
    return 0


def run_bot(config_path: str, client: str) -> None:
    """`faqbot run` as run_bot starts it, on the bot's own HTTP clients or on HTTPXRequest."""
    from telegram.request import HTTPXRequest

    from bot.app import ALLOWED_UPDATES, POOL_TIMEOUT, build_application, open_backend
    from bot.config import load_config
    from bot.logs import TokenFilter, setup_logging

    config = load_config(config_path)
    setup_logging(TokenFilter(config.telegram.token))
    backend = open_backend(config)
    requests = None
    if client == "httpx":
        # As build_application sizes its own: one connection per update in
        # flight and a couple more; getUpdates on PTB's default, one connection.
        size = config.telegram.concurrent_updates + 2
        requests = (HTTPXRequest(size, pool_timeout=POOL_TIMEOUT), HTTPXRequest(1))
    application = build_application(config, backend, requests=requests)
    try:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    finally:
        backend.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="asking time per client")
    parser.add_argument("--rounds", type=int, default=1, help="turns of both clients")
    parser.add_argument("--bot", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=CLIENTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bot:
        run_bot(args.bot, args.client)
        return 0
    return asyncio.run(bench(args.seconds, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
