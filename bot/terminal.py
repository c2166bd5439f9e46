"""The terminal chat: the Telegram conversation, typed at a prompt.

It renders the same `Answer` objects as the Telegram bot, as plain text
(`Answer.plain`, which `faqbot ask` prints too). Buttons become numbered
choices ("did you mean", follow-ups, topics) that the person picks by typing
the number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from handlers.topics import RecentTopics
from knowledge.answer import Answer, Link
from knowledge.engine import Engine
from knowledge.schema import COMMAND_ENTRIES, Language

# The terminal holds one conversation.
CHAT = "terminal"
QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit", "salir", "/salir"})


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
    welcome = engine.greeting(current).plain()
    choices = welcome.choices
    print(welcome.text, file=out)
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
        reply = answer.plain()
        choices = reply.choices
        print(reply.text, file=out)
        print(file=out)


def _answer(
    engine: Engine,
    message: str,
    choices: tuple[Link, ...],
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
