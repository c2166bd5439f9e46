"""Does a short outage lose answers, and how much does it write to the log?

Run from the repository root:

    .venv/bin/python bench/bench_faults.py                 # 400 questions, seeds 1-5, ~2 minutes
    .venv/bin/python bench/bench_faults.py --seeds 1 2 --questions 100
    .venv/bin/python bench/bench_faults.py --restart       # SIGTERM and a restart halfway

Each seed is one fault run of tests/auxil/fault_run.py: `faqbot run` as a
process with its production settings and logging answers the questions
(one user each, a quarter for the press contact: a card and a text) while
the fake Bot API fails at issue 10's rates: per send 4 % 429 (retry_after 1),
3 % 500, 3 % nginx 502 pages, 3 % connections dropped unanswered, 2 %
answers withheld past the read timeout although the message went out; 3 % of
getUpdates failing. Then SIGTERM (with --restart, also halfway, and a new
process carries on), and every chat is compared with the
answer the engine gives: lost, cut short, repeated or different. The log is
counted by level, and lines that are not log records (tracebacks) apart.

It prints one line per seed and the totals. Exit code 0 when no answer was
lost, cut short, repeated or different and nothing was logged as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.auxil.fake_bot_api import FakeBotAPI
from tests.auxil.fault_run import FaultRun, fault_run


async def one_run(questions: int, seed: int, restart: bool) -> FaultRun:
    async with FakeBotAPI() as fake:
        with tempfile.TemporaryDirectory() as folder:
            return await fault_run(
                fake, Path(folder), questions=questions, seed=seed, timeout=300, restart=restart
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument(
        "--restart", action="store_true", help="stop the bot with SIGTERM halfway and restart it"
    )
    args = parser.parse_args()
    os.environ.pop("TELEGRAM_BOT_TOKEN", None)
    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.questions} questions a seed"
        + ("; restarted halfway" if args.restart else "")
    )
    runs = []
    for seed in args.seeds:
        run = asyncio.run(one_run(args.questions, seed, args.restart))
        runs.append(run)
        print(run.summary(), flush=True)
        for line in run.records("ERROR") + run.records("CRITICAL") + run.other_lines[:20]:
            print(f"    {line[:300]}")
    bad = sum(len(r.lost) + len(r.cut_short) + len(r.repeated) + len(r.different) for r in runs)
    errors = sum(r.log_levels["ERROR"] + r.log_levels["CRITICAL"] for r in runs)
    faults = sum(sum(r.injected.values()) for r in runs)
    lines = sum(r.log_lines for r in runs)
    print(
        f"total: {len(runs)} runs, {sum(r.questions for r in runs)} questions, "
        f"{faults} faults injected; lost {sum(len(r.lost) for r in runs)}, "
        f"cut short {sum(len(r.cut_short) for r in runs)}, "
        f"repeated {sum(len(r.repeated) for r in runs)}, "
        f"different {sum(len(r.different) for r in runs)}; "
        f"log lines {lines} ({lines / max(faults, 1):.2f} a fault), errors {errors}, "
        f"tracebacks' lines {sum(len(r.other_lines) for r in runs)}"
    )
    return 0 if bad == 0 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
