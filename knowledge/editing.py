"""Add a question to the knowledge base file without disturbing the curator's work.

`/review` lets an admin accept a user's question as a new way of asking for
an entry. The file is hand-edited: its comments explain the rules to the next
curator, and its order and layout are how people find things. Loading the YAML
and dumping it back would throw all of that away, so the edit is made on the
text: the YAML node tree (which knows the line and column of every value) says
where the entry's question list sits, and one line (or, in a `[...]` list, one
item) is inserted there. Everything else stays byte for byte as it was.

An edit must never break the running bot. The edited text goes through the
same validation as `faqbot check` and `/reload` before anything is written,
and it is written atomically (a temporary file in the same directory, then a
rename), so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from knowledge.check import check_parsed
from knowledge.loader import parse_knowledge
from knowledge.normalise import fold, words
from knowledge.schema import LANGUAGES, Language

__all__ = ["add_question", "yaml_quoted"]

# PyYAML's line breaks; \r\n first so that it counts as one break.
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
# Wide enough that the emitter never folds a quoted question over two lines.
_NO_WRAP = 2**31

# Two admins pressing "add" at once run in two threads: without this, the
# second write would silently drop the first one's question.
_WRITE_LOCK = threading.Lock()


class _Refused(Exception):
    """A reason the question cannot be added, worded for the admin."""


def yaml_quoted(text: str) -> str:
    """`text` as one YAML double-quoted scalar, every special character escaped.

    The YAML library's own emitter does the escaping, so quotes, backslashes
    and odd Unicode line separators in a user's question cannot end the
    string early or spill onto the next line of the file.
    """
    dumped = yaml.dump(
        text, Dumper=yaml.SafeDumper, default_style='"', allow_unicode=True, width=_NO_WRAP
    )
    return dumped.rstrip("\n")


def _same_question_key(text: str) -> str:
    """What two questions share when they differ only in case, accents or punctuation."""
    return " ".join(words(text)) or fold(text).strip()


def add_question(path: str | Path, entry_id: str, language: str, question: str) -> list[str]:
    """Add `question` to entry `entry_id`'s questions in `language`; problems, or [] if written.

    Nothing is written unless the whole edited file passes `faqbot check`: in
    particular a question that the matcher would send to another entry is
    refused, since the bot would then answer it with the wrong entry.
    Whitespace runs in the question become single spaces (a chat message
    may hold line breaks; a stored question is one line).
    """
    target = Path(path).resolve()  # write through a symlink, not over it
    shown = str(path)
    question = " ".join(question.split())
    if not question:
        return ["the question is empty"]
    if language not in LANGUAGES:
        return [f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}"]
    with _WRITE_LOCK:
        try:
            original = target.read_bytes()
            text = original.decode("utf-8")
            edited = _insert_question(text, entry_id, language, question)
        except _Refused as refusal:
            return [f"{shown}: {refusal}"]
        except UnicodeDecodeError as error:
            return [f"{shown}: the file is not UTF-8 text ({error.reason})"]
        except OSError as error:
            return [f"{shown}: cannot read the file: {error.strerror}"]
        problems = _validate(edited, text, shown, entry_id, language, question)
        if problems:
            return problems
        try:
            if target.read_bytes() != original:
                return [f"{shown}: the file changed while the question was being added; try again"]
            _write_atomically(target, edited.encode("utf-8"))
        except OSError as error:
            return [f"{shown}: cannot write the file: {error.strerror}"]
    return []


# Finding the place ------------------------------------------------------------


def _value(node: Node, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return value_node
    return None


def _question_list(text: str, entry_id: str, language: str) -> SequenceNode:
    """The node of `entries[id=entry_id].questions.<language>`, or why there is none."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise _Refused(f"the file is not valid YAML ({error}); run faqbot check") from None
    entries = _value(root, "entries") if root is not None else None
    if not isinstance(entries, SequenceNode):
        raise _Refused("the file has no list of entries")
    for entry in entries.value:
        id_node = _value(entry, "id")
        if isinstance(id_node, ScalarNode) and id_node.value == entry_id:
            by_language = _value(entry, "questions")
            questions = _value(by_language, language) if by_language is not None else None
            if not isinstance(questions, SequenceNode):
                raise _Refused(f"entry '{entry_id}' has no list of questions in '{language}'")
            return questions
    raise _Refused(f"there is no entry '{entry_id}'")


def _refuse_duplicate(text: str, language: str, question: str) -> None:
    """Refuse a question the file already holds, in any entry, give or take case and accents."""
    parsed = parse_knowledge(text)
    if parsed.knowledge is None:
        return  # the validation of the edited text reports what is wrong
    key = _same_question_key(question)
    for entry in parsed.knowledge.entries:
        for stored in entry.questions.get(cast(Language, language), ()):
            if _same_question_key(stored) == key:
                raise _Refused(
                    f"entry '{entry.id}' already has the question {stored!r} ({language})"
                )


def _insert_question(text: str, entry_id: str, language: str, question: str) -> str:
    """The text with the question added at the end of the right list, nothing else changed."""
    questions = _question_list(text, entry_id, language)
    _refuse_duplicate(text, language, question)
    quoted = yaml_quoted(question)
    start = questions.start_mark.index
    if text.startswith("[", start):
        # A flow list: `[a, b]` becomes `[a, b, "new"]`. Inserting just after the
        # last item (not before `]`) keeps a trailing comma or comment valid.
        if not questions.value:
            closing = questions.end_mark.index - 1
            return text[:closing] + quoted + text[closing:]
        after = questions.value[-1].end_mark.index
        return text[:after] + ", " + quoted + text[after:]
    # A block list: a new `- "new"` line below the last item, at the dashes' column.
    line = " " * questions.start_mark.column + "- " + quoted
    end = questions.value[-1].end_mark
    if end.column == 0 and end.index > 0:
        # A `|` or `>` item ends at the start of the line after it.
        newline = "\r\n" if text.startswith("\r\n", end.index - 2) else text[end.index - 1]
        return text[: end.index] + line + newline + text[end.index :]
    found = _LINE_BREAK.search(text, end.index)
    if found is None:  # the last line of a file without a final newline
        newline = "\r\n" if "\r\n" in text else "\n"
        return text + newline + line
    return text[: found.end()] + line + found.group() + text[found.end() :]


# Checking and writing ------------------------------------------------------------


def _validate(
    edited: str, original: str, shown: str, entry_id: str, language: str, question: str
) -> list[str]:
    """What keeps the edit out, as sentences: the edited text does not load, or the
    check finds something in it that it did not find before the edit.

    Findings the file already had (a concept no entry says, a question another
    entry answers) go live with a reload as warnings; they must not block an
    admin's unrelated addition either. They are compared by message, since
    the added line moves the line numbers of everything below it.
    """
    parsed = parse_knowledge(edited, shown)
    result = check_parsed(parsed)
    if result.loaded is None:
        problems = [str(problem) for problem in result.problems]
        if check_parsed(parse_knowledge(original, shown)).loaded is None:
            problems.insert(0, f"{shown} already fails `faqbot check`: fix it before adding")
        return problems
    before = Counter(p.message for p in check_parsed(parse_knowledge(original, shown)).problems)
    added = Counter(problem.message for problem in result.problems) - before
    if added:
        return [str(p) for p in result.problems if p.message in added]
    # The edit was made on text; make sure it landed exactly where it was meant to.
    knowledge = parsed.knowledge
    entry = knowledge.entry(entry_id) if knowledge is not None else None
    stored = entry.questions.get(cast(Language, language), ()) if entry is not None else ()
    if not stored or stored[-1] != question:
        return [f"{shown}: the question could not be placed in entry '{entry_id}' ({language})"]
    return []


def _write_atomically(target: Path, data: bytes) -> None:
    """Replace the file in one rename, keeping its permissions."""
    mode = stat.S_IMODE(target.stat().st_mode)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # Make the rename itself durable; not every system can open a directory.
    with contextlib.suppress(OSError):
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
