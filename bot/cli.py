"""The `faqbot` command line: run, chat, ask, check, eval, report.

Exit codes: 0 success; 1 the thing checked is wrong (a knowledge base that
fails `check`, an evaluation below target); 2 the command cannot start (bad
config, bad arguments, a knowledge base that does not load).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.config import Config, ConfigError, load_config
from handlers.topics import RecentTopics
from knowledge.answer import Answer
from knowledge.check import KnowledgeUnusable, check_file, open_engine
from knowledge.engine import Engine
from knowledge.policy import AnswerPolicy

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2


class CommandError(Exception):
    """A reason the command cannot run, printed as one line."""


def load_engine(config: Config, policy: AnswerPolicy | None = None) -> Engine:
    """The configured knowledge base, by `faqbot run`'s rule; its findings are warnings."""
    try:
        engine, findings = open_engine(config.knowledge.path, config.matching, policy)
    except KnowledgeUnusable as error:
        raise CommandError(str(error)) from None
    for problem in findings:
        print(f"warning: {problem}", file=sys.stderr)
    return engine


def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    engine = load_engine(config)
    from_stdin = args.question is None
    questions = (line.rstrip("\n") for line in sys.stdin) if from_stdin else [args.question]
    # With --context, each question is a follow-up of the one before, as in a chat.
    topics = RecentTopics(config.conversation.context_minutes, most=1)
    for question in questions:
        if from_stdin and not question.strip():
            continue
        context = topics.get("ask") if args.context else None
        answer = engine.ask(question, language=args.lang, context=context)
        topics.answered("ask", answer)
        if args.json:
            shown = answer.to_json()
            if args.explain:
                shown["explain"] = explanation(engine, answer)
            print(json.dumps(shown, ensure_ascii=False), flush=True)
        else:
            print(answer.plain().text, flush=True)
            if args.explain:
                print(format_explanation(explanation(engine, answer)), flush=True)
            print(flush=True)
    return EXIT_OK


def explanation(engine: Engine, answer: Answer) -> dict[str, Any]:
    """Why the engine answered as it did, for a curator: the stored question that
    matched, the runner-up, the policy's probability and what each feature added."""
    why = answer.why
    result: dict[str, Any] = {
        "kind": str(answer.kind),
        "best_entry": why.best_entry if why else None,
        "matched_question": why.matched_question if why else None,
        "runner_up": why.runner_up if why else None,
        "margin": why.margin if why else None,
        "unknown_words": list(why.unknown_words) if why else [],
        "read_part_only": why.asked_part if why else False,
        "probability": answer.confidence,
        "answer_at": round(engine.answer_at, 3),
    }
    if why is not None and why.features is not None:
        result["features"] = [
            {"name": name, "value": round(value, 3), "adds": round(adds, 3)}
            for name, value, adds in engine.policy.contributions(why.features)
        ]
    return result


def format_explanation(shown: dict[str, Any]) -> str:
    lines = [
        "-- why --",
        f"kind {shown['kind']}; first entry {shown['best_entry']} "
        f"via {shown['matched_question']!r}; runner-up {shown['runner_up']} "
        f"(margin {shown['margin']})",
        f"policy probability {shown['probability']:.3f} (answers at >= {shown['answer_at']})",
    ]
    if shown["unknown_words"]:
        lines.append(f"unknown words: {', '.join(shown['unknown_words'])}")
    if shown["read_part_only"]:
        lines.append("read only the question after the message's preamble")
    for row in shown.get("features", []):
        if row["value"]:
            lines.append(f"  {row['name']:<18} {row['value']:>7.3f}  adds {row['adds']:+.3f}")
    return "\n".join(lines)


def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    from bot.terminal import run_chat

    engine = load_engine(config)
    interactive = sys.stdin.isatty()

    def read() -> str | None:
        try:
            return input("> ") if interactive else sys.stdin.readline() or None
        except EOFError:
            return None

    try:
        run_chat(
            engine,
            read,
            sys.stdout,
            language=args.lang,
            context_minutes=config.conversation.context_minutes,
        )
    except KeyboardInterrupt:
        print()
    return EXIT_OK


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    path = Path(args.path) if args.path else config.knowledge.path
    result = check_file(path)
    for problem in result.problems:
        print(problem)
    if not result.ok:
        print(f"{path}: {len(result.problems)} problem(s)", file=sys.stderr)
        return EXIT_INVALID
    knowledge = result.loaded.knowledge if result.loaded else None
    assert knowledge is not None
    print(f"{path}: OK, {len(knowledge.entries)} entries, {knowledge.question_count} questions")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, config: Config) -> int:
    from knowledge.evaluation import LabelError, evaluate, format_report, read_labelled

    engine = load_engine(config)
    try:
        items = read_labelled(args.file, (e.id for e in engine.knowledge.entries))
    except (OSError, LabelError) as error:
        raise CommandError(str(error)) from None
    report = evaluate(engine, items)
    print(format_report(report, show_misses=not args.quiet))
    targets = (
        ("answered right", report.right.get("all"), args.min_right, True),
        ("answered wrong", report.wrong.get("all"), args.max_wrong, False),
        ("out-of-scope refused", report.refused.get("all"), args.min_refused, True),
        ("answer language", report.language.get("all"), args.min_language, True),
    )
    print()
    below = False
    for name, tally, target, at_least in targets:
        if tally is None or not tally.total:
            continue
        ok = tally.rate >= target if at_least else tally.rate <= target
        below |= not ok
        sign = ">=" if at_least else "<="
        verdict = "ok" if ok else "missed"
        print(f"target: {name} {100 * tally.rate:.1f}% {sign} {100 * target:.0f}%: {verdict}")
    return EXIT_INVALID if below else EXIT_OK


def cmd_calibrate(args: argparse.Namespace, config: Config) -> int:
    try:
        from knowledge.calibration import LabelledSet, calibrate
    except ImportError as error:  # scikit-learn is an extra
        raise CommandError(
            f"calibrate needs scikit-learn ({error}): pip install 'faqbot[fit]'"
        ) from None
    from knowledge.evaluation import LabelError, read_labelled
    from knowledge.policy import bundled_policy_path

    # Fitting reads the features, not the bundled policy, which may be stale.
    engine = load_engine(config, AnswerPolicy.neutral())
    ids = [entry.id for entry in engine.knowledge.entries]
    try:
        sets = [LabelledSet(Path(path).name, read_labelled(path, ids)) for path in args.files]
    except (OSError, LabelError) as error:
        raise CommandError(str(error)) from None
    from knowledge.evaluation import format_report

    policy, reports = calibrate(engine, sets, folds=args.folds)
    for name, report in reports.items():
        print(f"== {name}: cross-validated ({args.folds} folds by message)")
        print(format_report(report, show_misses=args.misses))
        print()
    if args.shuffles > 1:
        from knowledge.calibration import shuffled_means

        print(f"== mean of {args.shuffles} cross-validations, the folds shuffled differently")
        for name, rates in shuffled_means(engine, sets, args.folds, args.shuffles).items():
            shown = "  ".join(f"{rate} {value:.1%}" for rate, value in rates.items())
            print(f"{name:<24} {shown}")
        print()
    print(f"answer at probability >= {policy.answer_at:.3f}")
    for name, weight in policy.weights.items():
        print(f"  {name:<20} {weight:+.3f}")
    if args.write:
        target = Path(args.output) if args.output else bundled_policy_path()
        target.write_text(policy.to_yaml(), encoding="utf-8")
        print(f"written to {target}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from bot.app import run_bot

    return run_bot(config)


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    from bot.reporting import print_report

    return print_report(
        config,
        load_engine(config),
        since_days=args.since,
        output=args.format,
        suggest=args.suggest,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faqbot",
        description="A Telegram bot answering questions about ECLAC's March 2006 press release.",
    )
    parser.add_argument("--config", help="TOML config file (default: $FAQBOT_CONFIG, or none)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--config", default=argparse.SUPPRESS, help="TOML config file")
        return sub

    command("run", "start the Telegram bot")
    chat = command("chat", "talk to the bot in this terminal")
    chat.add_argument("--lang", choices=("en", "es"), help="always answer in this language")
    ask = command("ask", "answer one question, or one per line from stdin")
    ask.add_argument("question", nargs="?", help="the question (default: read stdin)")
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    ask.add_argument("--lang", choices=("en", "es"), help="always answer in this language")
    ask.add_argument(
        "--explain", action="store_true", help="also show why: match, features, probability"
    )
    ask.add_argument(
        "--context",
        action="store_true",
        help="read each question as a follow-up of the previous one (default: each alone)",
    )
    check = command("check", "validate a knowledge base file")
    check.add_argument("path", nargs="?", help="the file (default: the configured one)")
    evaluate = command("eval", "measure answers on a labelled question set")
    evaluate.add_argument("file", help="a labelled set: .tsv (entry ids) or .yaml (facts)")
    evaluate.add_argument("--min-right", type=float, default=0.90, metavar="RATE")
    evaluate.add_argument("--max-wrong", type=float, default=0.03, metavar="RATE")
    evaluate.add_argument("--min-refused", type=float, default=0.92, metavar="RATE")
    evaluate.add_argument("--min-language", type=float, default=0.98, metavar="RATE")
    evaluate.add_argument("--quiet", action="store_true", help="no list of misses")
    calibrate = command("calibrate", "fit the answer policy on labelled question sets")
    calibrate.add_argument("files", nargs="+", help="labelled sets (.tsv or facts .yaml)")
    calibrate.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    calibrate.add_argument("--write", action="store_true", help="write the fitted policy")
    calibrate.add_argument("--output", help="where to write it (default: the bundled one)")
    calibrate.add_argument("--misses", action="store_true", help="list each set's misses")
    calibrate.add_argument(
        "--shuffles", type=int, default=1, help="also average N differently shuffled CVs"
    )
    report = command("report", "unanswered and down-voted questions, grouped")
    report.add_argument("--since", type=int, default=30, metavar="DAYS")
    report.add_argument("--format", choices=("table", "csv"), default="table")
    report.add_argument("--suggest", action="store_true", help="print YAML lines to paste")
    return parser


HANDLERS = {
    "run": cmd_run,
    "chat": cmd_chat,
    "ask": cmd_ask,
    "check": cmd_check,
    "eval": cmd_eval,
    "calibrate": cmd_calibrate,
    "report": cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        for warning in config.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        return HANDLERS[args.command](args, config)
    except ConfigError as error:
        print(f"faqbot: config error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except CommandError as error:
        print(f"faqbot: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
