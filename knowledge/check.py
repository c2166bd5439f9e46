"""The full validation of a knowledge base file, and the line between unusable and warned.

Beyond the schema (`loader`: an unreadable file, a schema error, a dangling
id), four checks catch a curator's slips:
- an entry's English and Spanish answers must state the same numbers,
  e-mails, phone numbers and web addresses, since a translation that changes
  a date or a phone digit is the worst kind of wrong answer;
- each value an entry lists in `values` (a country, a city, a session) must
  be stated in both answers: the engine says yes or no to a question naming
  one on the strength of that list, so it must be what the answer says;
- every stored question must lead back to its own entry. A question that the
  matcher sends elsewhere means two entries compete for the same words, and
  users asking it would get the other answer;
- every concept must be said by some entry, or its words count against a
  reader's message as unknown words.

`faqbot check` reports all of them and fails on any (`check_file`): it is
the curator's gate. Everything that answers from the file takes it by one
rule (`load_checked`): `faqbot run` and the commands that answer, through
`open_engine`, and every reload (`knowledge.reload`). There only a file that
does not load stops it; the four checks' findings are warnings, since the
knowledge base still answers, and a bot kept down by a duplicated question
helped nobody (issue 10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from knowledge.claims import Named, named_values
from knowledge.engine import Engine, Loaded, Thresholds
from knowledge.loader import Parsed, Problem, read_knowledge
from knowledge.policy import AnswerPolicy, PolicyError
from knowledge.schema import LANGUAGES, KnowledgeBase

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>()]+", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class CheckResult:
    """A loaded bundle ready to go live, or the problems that keep it out."""

    loaded: Loaded | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return self.loaded is not None and not self.problems


def facts(text: str) -> dict[str, set[str]]:
    """The checkable facts of a text: e-mails, web addresses and the numbers outside them."""
    emails = set(_EMAIL.findall(text))
    urls = {url.rstrip(".,;:").lower() for url in _URL.findall(text)}
    rest = _URL.sub(" ", _EMAIL.sub(" ", text))
    return {"e-mail": emails, "web address": urls, "number": set(_NUMBER.findall(rest))}


def check_file(path: str | Path) -> CheckResult:
    """Everything `faqbot check` reports for a file, and the bundle if it passed."""
    return check_parsed(read_knowledge(path))


class KnowledgeUnusable(Exception):
    """The knowledge base cannot answer; the message says why, a problem a line.

    `problems` are the file's, by line, when the file is what is wrong (none
    for a broken answer policy, which the message names).
    """

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


def load_checked(path: str | Path) -> tuple[Loaded, tuple[Problem, ...]]:
    """The file's knowledge base, checked, and the check's findings as warnings.

    The one line between "cannot answer" and "should be looked at", for a
    start, every command that answers and a reload alike: a file that does
    not load (unreadable, a schema error, a dangling id) raises
    `KnowledgeUnusable`; every other finding (a question another entry
    answers, the two languages disagreeing on a number) leaves a knowledge
    base that answers, so it goes live and the findings are shown beside it.
    Stopping on those kept the bot down for a duplicated question (issue 10).
    """
    result = check_file(path)
    if result.loaded is None:
        details = "\n".join(str(problem) for problem in result.problems)
        raise KnowledgeUnusable(f"the knowledge base does not load:\n{details}", result.problems)
    return result.loaded, result.problems


def open_engine(
    path: str | Path, thresholds: Thresholds, policy: AnswerPolicy | None = None
) -> tuple[Engine, tuple[Problem, ...]]:
    """The knowledge base at `path` as an engine, and the check's findings.

    `faqbot run` and every command that answers open it here, by
    `load_checked`'s rule, as a reload does (`knowledge.reload`); a broken
    answer policy also raises `KnowledgeUnusable`. Only how the findings are
    shown is the caller's: a log line for run, stderr for the commands.
    """
    loaded, findings = load_checked(path)
    try:
        return Engine(loaded, thresholds, policy), findings
    except PolicyError as error:
        raise KnowledgeUnusable(str(error)) from None


def check_parsed(parsed: Parsed) -> CheckResult:
    if parsed.knowledge is None:
        return CheckResult(None, parsed.problems)
    knowledge = parsed.knowledge
    problems = _language_disagreements(parsed, knowledge) + _values_unstated(parsed, knowledge)
    loaded = Loaded.build(knowledge)
    problems += _misrouted_questions(parsed, loaded) + _unused_concepts(parsed, loaded)
    return CheckResult(loaded, tuple(sorted(problems)))


def _language_disagreements(parsed: Parsed, knowledge: KnowledgeBase) -> list[Problem]:
    problems = []
    for entry in knowledge.entries:
        english, spanish = facts(entry.answer.en), facts(entry.answer.es)
        for kind in english:
            only_en = english[kind] - spanish[kind]
            only_es = spanish[kind] - english[kind]
            if not (only_en or only_es):
                continue
            line, column = parsed.where.answers.get((entry.id, "es"), (1, 1))
            detail = "; ".join(
                f"{', '.join(sorted(values))} only in the {name} answer"
                for values, name in ((only_en, "English"), (only_es, "Spanish"))
                if values
            )
            article = "an" if kind[0] in "aeiou" else "a"
            message = f"entry '{entry.id}': the answers disagree on {article} {kind}: {detail}"
            problems.append(Problem(knowledge.source_path, line, column, message))
    return problems


def _values_unstated(parsed: Parsed, knowledge: KnowledgeBase) -> list[Problem]:
    """Each place or session an entry states must be stated in both languages (years are
    numbers, which `_language_disagreements` compares already)."""
    problems = []
    for entry in knowledge.entries:
        for lang in LANGUAGES:
            said = named_values(entry.answer(lang))
            for kind, values in entry.values.items():
                if kind == "year":
                    continue
                for value in values:
                    if Named(kind, value) in said:
                        continue
                    line, column = parsed.where.answers.get((entry.id, lang), (1, 1))
                    language = "English" if lang == "en" else "Spanish"
                    message = (
                        f"entry '{entry.id}': values.{kind} lists '{value}', "
                        f"which the {language} answer does not state"
                    )
                    problems.append(Problem(knowledge.source_path, line, column, message))
    return problems


def _misrouted_questions(parsed: Parsed, loaded: Loaded) -> list[Problem]:
    problems = []
    knowledge = loaded.knowledge
    for entry in knowledge.entries:
        for lang in LANGUAGES:
            for position, question in enumerate(entry.questions[lang]):
                best = loaded.matcher.rank(question, language=lang).best
                if best is not None and best.entry_id == entry.id:
                    continue
                line, column = parsed.where.questions.get((entry.id, lang, position), (1, 1))
                if best is None:
                    message = f"entry '{entry.id}': the question {question!r} has no known word"
                else:
                    message = (
                        f"entry '{entry.id}': the question {question!r} is answered by entry "
                        f"'{best.entry_id}' instead (score {best.score:.0f}, via {best.question!r})"
                    )
                problems.append(Problem(knowledge.source_path, line, column, message))
    return problems


def _unused_concepts(parsed: Parsed, loaded: Loaded) -> list[Problem]:
    """A concept no entry's questions, keywords or answer say: a reader's word for it
    counts against the message, which is not what the curator who listed it meant."""
    knowledge = loaded.knowledge
    return [
        Problem(
            knowledge.source_path,
            *parsed.where.concepts.get(concept.id, (1, 1)),
            f"concepts.{concept.id}: no entry says it (in a question, a keyword or an "
            "answer), so its words count as unknown in a message",
        )
        for concept in knowledge.concepts
        if not loaded.matcher.uses_concept(concept.id)
    ]
