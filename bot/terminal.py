"""The terminal chat: the Telegram conversation, typed at a prompt.

It renders the same `Answer` objects as the Telegram bot. Buttons become
numbered choices ("did you mean", follow-ups, topics) that the person picks
by typing the number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from handlers.topics import RecentTopics
from knowledge.answer import Answer, Kind, Link, contact_lines
from knowledge.engine import Engine
from knowledge.schema import COMMAND_ENTRIES, Language

# The terminal holds one conversation.
CHAT = "terminal"
QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit", "salir", "/salir"})


def render_plain(answer: Answer, engine: Engine) -> tuple[str, list[Link]]:
    """The answer as terminal text, and the choices its numbers stand for."""
    lang = answer.language
    parts: list[str] = []
    choices: list[Link] = []
    if answer.title and answer.kind is Kind.ANSWER:
        parts.append(f"== {answer.title} ==")
    parts.append(answer.text)
    if answer.contact is not None and answer.kind is Kind.FALLBACK:
        # The contact entry's own answer already lists the details.
        parts.append(engine.text("contact_intro", lang))
        parts.append(contact_lines(answer.contact, lang))
    if answer.suggestions:
        choices = [Link(s.entry_id, s.question) for s in answer.suggestions]
    elif answer.related:
        parts.append(engine.text("related", lang))
        choices = list(answer.related)
    elif answer.topics:
        parts.append(engine.text("topics_intro", lang))
        choices = list(answer.topics)
    parts.extend(f"  [{number}] {link.label}" for number, link in enumerate(choices, 1))
    return "\n".join(parts), choices


def run_chat(
    engine: Engine,
    read: Callable[[], str | None],
    out: TextIO,
    language: Language | None = None,
    context_minutes: float = 5.0,
) -> None:
    """Hold one conversation until quit or end of input. `read` returns None at the end.

    Follow-ups are read in the light of the last topic, as in Telegram.
    """
    current: Language = language or "en"
    topics = RecentTopics(context_minutes, most=1)
    welcome, choices = render_plain(engine.greeting(current), engine)
    print(welcome, file=out)
    print(engine.text("chat_quit_hint", current), file=out)
    while True:
        line = read()
        if line is None:
            break
        message = line.strip()
        if not message:
            continue
        if message.casefold() in QUIT_WORDS:
            break
        if message.split()[0].casefold() in ("/start", "/help", "/ayuda"):
            topics.set(CHAT, None)
        answer = _answer(engine, message, choices, language, current, topics.get(CHAT))
        topics.answered(CHAT, answer)
        current = answer.language
        text, choices = render_plain(answer, engine)
        print(text, file=out)
        print(file=out)


def _answer(
    engine: Engine,
    message: str,
    choices: list[Link],
    language: Language | None,
    current: Language,
    context: str | None,
) -> Answer:
    if message.isdigit() and 1 <= int(message) <= len(choices):
        opened = engine.open(choices[int(message) - 1].entry_id, current)
        if opened is not None:
            return opened
    command = message.split()[0].casefold()
    if command.startswith("/") and command[1:] in COMMAND_ENTRIES:
        opened = engine.open(COMMAND_ENTRIES[command[1:]], language or current)
        if opened is not None:
            return opened
    if command in ("/help", "/start", "/ayuda"):
        return engine.greeting(language or current, key="help")
    return engine.ask(message, language=language, fallback=current, context=context)
