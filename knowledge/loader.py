"""Read a knowledge base file and say exactly where it is wrong.

The file is edited by hand, often by someone who is not a programmer, and a
bad edit must never reach users. So the YAML is read as a node tree (which
keeps the line and column of every value) and checked against the schema by
hand, collecting every problem instead of stopping at the first one. Only
plain YAML is accepted: tags that build objects and anchors that expand
(the "billion laughs" file) are refused before anything is constructed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from knowledge.claims import VALUE_KINDS, Named, canonical_name, named_values
from knowledge.normalise import QUESTION_WORDS, content_words, words
from knowledge.schema import (
    COMMAND_ENTRIES,
    KINDS,
    LANGUAGES,
    TEXT_KEYS,
    TEXT_MAX_CHARS,
    TEXT_PLACEHOLDERS,
    Concept,
    Contact,
    Entry,
    KnowledgeBase,
    Language,
    Localized,
    Topic,
)

MAX_FILE_BYTES = 2 * 1024 * 1024
ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_TITLE_CHARS = 60
# Flow brackets nested deeper than this are refused before parsing.
MAX_NESTING = 100
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the file, where an editor can jump to it."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass
class SourceMap:
    """Where each stored question sits in the file, for the matcher's self-test."""

    questions: dict[tuple[str, Language, int], tuple[int, int]] = field(default_factory=dict)
    answers: dict[tuple[str, Language], tuple[int, int]] = field(default_factory=dict)
    concepts: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    """What reading a file gave: a knowledge base when there were no problems."""

    knowledge: KnowledgeBase | None
    problems: tuple[Problem, ...]
    where: SourceMap


class _Reader:
    """Walks the node tree once, building dataclasses and collecting problems."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.where = SourceMap()

    def problem(self, node: Node | None, message: str) -> None:
        if node is None:
            self.problems.append(Problem(self.path, 1, 1, message))
        else:
            mark = node.start_mark
            self.problems.append(Problem(self.path, mark.line + 1, mark.column + 1, message))

    # Shapes -------------------------------------------------------------

    def mapping(
        self,
        node: Node,
        what: str,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        free_keys: bool = False,
    ) -> dict[str, Node] | None:
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what} must be a mapping of keys to values")
            return None
        result: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                self.problem(key_node, f"{what}: keys must be plain words")
                continue
            key = key_node.value
            if key in result:
                self.problem(key_node, f"{what}: key '{key}' is given twice")
                continue
            if not free_keys and key not in required and key not in optional:
                allowed = ", ".join((*required, *optional))
                self.problem(key_node, f"{what}: unknown key '{key}' (allowed: {allowed})")
                continue
            result[key] = value_node
        for key in required:
            if key not in result:
                self.problem(node, f"{what}: missing key '{key}'")
        return result

    def text(self, node: Node, what: str, max_chars: int | None = None) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.problem(node, f"{what} must be a text")
            return None
        value = str(node.value).strip()
        if not value:
            self.problem(node, f"{what} is empty")
            return None
        if max_chars is not None and len(value) > max_chars:
            self.problem(node, f"{what} is {len(value)} characters long; at most {max_chars}")
            return None
        return value

    def sequence(self, node: Node, what: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{what} must be a list")
            return None
        return list(node.value)

    def localized(self, node: Node, what: str, max_chars: int | None = None) -> Localized | None:
        fields = self.mapping(node, what, required=LANGUAGES)
        if fields is None or any(lang not in fields for lang in LANGUAGES):
            return None
        en = self.text(fields["en"], f"{what} (English)", max_chars)
        es = self.text(fields["es"], f"{what} (Spanish)", max_chars)
        if en is None or es is None:
            return None
        return Localized(en=en, es=es)

    def text_list(self, node: Node, what: str, allow_empty: bool) -> list[tuple[str, Node]]:
        items = self.sequence(node, what)
        if items is None:
            return []
        if not items and not allow_empty:
            self.problem(node, f"{what}: give at least one")
        result = []
        for item in items:
            value = self.text(item, f"{what} item")
            if value is not None:
                result.append((value, item))
        return result

    # Sections -------------------------------------------------------------

    def texts(self, node: Node) -> dict[str, Localized]:
        fields = self.mapping(node, "texts", required=TEXT_KEYS)
        result: dict[str, Localized] = {}
        for key, value_node in (fields or {}).items():
            value = self.localized(value_node, f"texts.{key}", TEXT_MAX_CHARS.get(key))
            if value is not None:
                result[key] = value
        for key, value in result.items():
            allowed = TEXT_PLACEHOLDERS.get(key, frozenset())
            for lang in LANGUAGES:
                try:
                    used = {
                        name for _, name, _, _ in Formatter().parse(value(lang)) if name is not None
                    }
                except ValueError as error:
                    self.problem(
                        fields[key] if fields else None,
                        f"texts.{key} ({lang}): {error}; write {{{{ and }}}} for braces",
                    )
                    continue
                for name in sorted(used - allowed):
                    hint = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
                    self.problem(
                        fields[key] if fields else None,
                        f"texts.{key} ({lang}): unknown placeholder {{{name}}} (allowed: {hint})",
                    )
        reload_ok = result.get("reload_ok")
        if reload_ok is not None and fields is not None:
            for lang in LANGUAGES:
                for placeholder in ("{entries}", "{questions}"):
                    if placeholder not in reload_ok(lang):
                        self.problem(
                            fields["reload_ok"], f"texts.reload_ok ({lang}) lacks {placeholder}"
                        )
        return result

    def topics(self, node: Node) -> list[tuple[Topic, Node]]:
        fields = self.mapping(node, "topics", free_keys=True)
        result = []
        for topic_id, value_node in (fields or {}).items():
            parts = self.mapping(value_node, f"topics.{topic_id}", required=("entry", *LANGUAGES))
            if parts is None or any(key not in parts for key in ("entry", *LANGUAGES)):
                continue
            entry = self.text(parts["entry"], f"topics.{topic_id}.entry")
            en = self.text(parts["en"], f"topics.{topic_id} (English)", MAX_TITLE_CHARS)
            es = self.text(parts["es"], f"topics.{topic_id} (Spanish)", MAX_TITLE_CHARS)
            if entry and en and es:
                result.append((Topic(topic_id, entry, Localized(en, es)), parts["entry"]))
        return result

    def contact(self, node: Node) -> Contact | None:
        keys = ("first_name", "last_name", "title", "organisation", "phones", "email", "website")
        fields = self.mapping(node, "contact", required=keys)
        if fields is None or any(key not in fields for key in keys):
            return None
        first = self.text(fields["first_name"], "contact.first_name")
        last = self.text(fields["last_name"], "contact.last_name")
        title = self.localized(fields["title"], "contact.title")
        organisation = self.localized(fields["organisation"], "contact.organisation")
        phones = [value for value, _ in self.text_list(fields["phones"], "contact.phones", False)]
        email = self.text(fields["email"], "contact.email")
        website = self.text(fields["website"], "contact.website")
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", email, re.I):
            self.problem(fields["email"], f"contact.email '{email}' is not an e-mail address")
        if not (first and last and title and organisation and phones and email and website):
            return None
        return Contact(first, last, title, organisation, tuple(phones), email, website)

    def concepts(self, node: Node) -> list[Concept]:
        """The concept lexicon: each term must have a word that is not a stop word,
        and no term may mean two concepts."""
        fields = self.mapping(node, "concepts", free_keys=True)
        # Where each concept's name is written, for findings about the whole concept.
        names = {key.value: key for key, _ in node.value} if isinstance(node, MappingNode) else {}
        result = []
        owner: dict[tuple[str, ...], tuple[str, Node]] = {}
        for concept_id, value_node in (fields or {}).items():
            what = f"concepts.{concept_id}"
            mark = names[concept_id].start_mark
            self.where.concepts[concept_id] = (mark.line + 1, mark.column + 1)
            if not ENTRY_ID.match(concept_id):
                self.problem(
                    value_node, f"{what}: a concept id is lower-case letters, digits and '-'"
                )
                continue
            term_nodes = self.mapping(value_node, what, required=LANGUAGES, optional=("weight",))
            if term_nodes is None or any(lang not in term_nodes for lang in LANGUAGES):
                continue
            weight = 1.0
            if "weight" in term_nodes:
                weight_node = term_nodes["weight"]
                try:
                    weight = float(weight_node.value)
                except (TypeError, ValueError):
                    weight = -1.0
                if not 0.0 < weight <= 1.0:
                    self.problem(weight_node, f"{what}: weight must be a number above 0, at most 1")
                    weight = 1.0
            terms: dict[Language, tuple[str, ...]] = {}
            for lang in LANGUAGES:
                items = self.text_list(term_nodes[lang], f"{what} ({lang})", allow_empty=True)
                terms[lang] = tuple(term for term, _ in items)
                for term, item in items:
                    written = tuple(content_words(term))
                    if not written:
                        self.problem(item, f"{what}: '{term}' has only stop words")
                        continue
                    first = owner.setdefault(written, (concept_id, item))
                    if first[0] != concept_id:
                        line = first[1].start_mark.line + 1
                        self.problem(
                            item,
                            f"{what}: '{term}' already means concept '{first[0]}' (line {line})",
                        )
            result.append(Concept(concept_id, terms, weight))
        return result

    def entry(self, node: Node, index: int) -> tuple[Entry, dict[str, Node]] | None:
        what = f"entries[{index}]"
        fields = self.mapping(
            node,
            what,
            required=("id", "topic", "title", "questions", "answer"),
            optional=("keywords", "related", "source", "question_words", "holds", "values"),
        )
        if fields is None or "id" not in fields:
            return None
        entry_id = self.text(fields["id"], f"{what}.id")
        if entry_id is None:
            return None
        if not ENTRY_ID.match(entry_id):
            self.problem(
                fields["id"],
                f"entry id '{entry_id}' must be lower-case letters, digits and '-', "
                "at most 40 characters",
            )
        what = f"entry '{entry_id}'"
        topic = self.text(fields["topic"], f"{what}: topic") if "topic" in fields else None
        title = (
            self.localized(fields["title"], f"{what}: title", MAX_TITLE_CHARS)
            if "title" in fields
            else None
        )
        answer = self.localized(fields["answer"], f"{what}: answer") if "answer" in fields else None
        if answer is not None:
            for lang in LANGUAGES:
                mark = _language_node(fields["answer"], lang).start_mark
                self.where.answers[(entry_id, lang)] = (mark.line + 1, mark.column + 1)
        questions = self.per_language(fields.get("questions"), f"{what}: questions", entry_id)
        keywords = self.per_language(fields.get("keywords"), f"{what}: keywords", None)
        related: list[str] = []
        if "related" in fields:
            related = [
                value for value, _ in self.text_list(fields["related"], f"{what}: related", True)
            ]
        source: list[int] = []
        if "source" in fields:
            for item in self.sequence(fields["source"], f"{what}: source") or []:
                if isinstance(item, ScalarNode) and item.tag == "tag:yaml.org,2002:int":
                    source.append(int(item.value))
                else:
                    self.problem(item, f"{what}: source items are paragraph numbers")
        question_words = self.question_words(fields.get("question_words"), what)
        holds: list[str] = []
        if "holds" in fields:
            for value, item in self.text_list(fields["holds"], f"{what}: holds", True):
                if value not in KINDS:
                    allowed = ", ".join(KINDS)
                    self.problem(item, f"{what}: '{value}' is not a kind of fact ({allowed})")
                elif value in holds:
                    self.problem(item, f"{what}: '{value}' is given twice in holds")
                else:
                    holds.append(value)
        values, partial = (
            self.values(fields["values"], what, answer) if "values" in fields else ({}, [])
        )
        declared = tuple(values)
        if answer is not None:
            # Every value its answer names is a value it states, listed or not.
            for lang in LANGUAGES:
                for named in named_values(answer(lang)):
                    found = values.get(named.kind, ())
                    if named.value not in found:
                        values[named.kind] = (*found, named.value)
        if topic is None or title is None or answer is None or questions is None:
            return None
        entry = Entry(
            id=entry_id,
            topic=topic,
            title=title,
            questions=questions,
            keywords=keywords or {"en": (), "es": ()},
            answer=answer,
            related=tuple(related),
            source=tuple(source),
            question_words=tuple(question_words),
            holds=tuple(holds),
            values=values,
            complete_kinds=tuple(kind for kind in declared if kind not in partial),
        )
        return entry, fields

    def values(
        self, node: Node, what: str, answer: Localized | None
    ) -> tuple[dict[str, tuple[str, ...]], list[str]]:
        """The values an entry's answer states, each checked against that answer."""
        fields = self.mapping(node, f"{what}: values", optional=(*VALUE_KINDS, "partial"))
        result: dict[str, tuple[str, ...]] = {}
        partial: list[str] = []
        for kind, value_node in (fields or {}).items():
            items = self.text_list(value_node, f"{what}: values.{kind}", False)
            if kind == "partial":
                for value, item in items:
                    if value not in VALUE_KINDS:
                        self.problem(item, f"{what}: values.partial: '{value}' is not a kind")
                    partial.append(value)
                continue
            found = []
            for value, item in items:
                canonical = canonical_name(kind, value)
                if canonical is None:
                    self.problem(item, f"{what}: values.{kind}: '{value}' is not a known {kind}")
                    continue
                # Stated in one language at least; `faqbot check` wants both.
                if answer is not None and not any(
                    Named(kind, canonical) in named_values(answer(lang)) for lang in LANGUAGES
                ):
                    self.problem(
                        item, f"{what}: values.{kind}: the answer does not state '{value}'"
                    )
                found.append(canonical)
            result[kind] = tuple(found)
        return result, partial

    def question_words(self, node: Node | None, what: str) -> list[str]:
        """Question words that alone open the entry ("when?"), from QUESTION_WORDS.

        Any other word is matched already, and belongs among the questions.
        """
        if node is None:
            return []
        result: list[str] = []
        for value, item in self.text_list(node, f"{what}: question_words", False):
            folded = words(value)
            if len(folded) != 1:
                self.problem(item, f"{what}: question word '{value}' must be one word")
            elif folded[0] not in QUESTION_WORDS:
                allowed = ", ".join(sorted(QUESTION_WORDS))
                self.problem(
                    item,
                    f"{what}: '{value}' is not a question word ({allowed}); "
                    "other words belong in a question",
                )
            elif folded[0] in result:
                self.problem(item, f"{what}: question word '{value}' is given twice")
            else:
                result.append(folded[0])
        return result

    def per_language(
        self, node: Node | None, what: str, entry_id: str | None
    ) -> dict[Language, tuple[str, ...]] | None:
        """A {en: [...], es: [...]} block; questions must have both, keywords may be empty."""
        if node is None:
            return None
        fields = self.mapping(node, what, required=LANGUAGES)
        if fields is None or any(lang not in fields for lang in LANGUAGES):
            return None
        result: dict[Language, tuple[str, ...]] = {}
        for lang in LANGUAGES:
            items = self.text_list(fields[lang], f"{what} ({lang})", allow_empty=entry_id is None)
            result[lang] = tuple(value for value, _ in items)
            if entry_id is not None:
                for position, (_, item) in enumerate(items):
                    mark = item.start_mark
                    self.where.questions[(entry_id, lang, position)] = (
                        mark.line + 1,
                        mark.column + 1,
                    )
        return result


def _language_node(node: Node, lang: str) -> Node:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == lang:
                return value_node
    return node


def _refuse_unsafe_yaml(text: str, path: str) -> list[Problem]:
    """Refuse anchors, aliases and object-building tags before composing anything.

    Reading events is streaming and cheap, so a file built to expand
    exponentially is turned away before it can cost memory.
    """
    problems = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        mark = event.start_mark
        where = (path, mark.line + 1, mark.column + 1) if mark is not None else (path, 1, 1)
        if isinstance(event, AliasEvent):
            problems.append(Problem(*where, "aliases (*name) are not allowed; write the text out"))
        elif isinstance(event, NodeEvent) and event.anchor is not None:
            problems.append(Problem(*where, "anchors (&name) are not allowed; write the text out"))
        if isinstance(event, ScalarEvent | CollectionStartEvent):
            tag = event.tag
            if tag not in (None, "!") and tag not in _PLAIN_TAGS:
                problems.append(Problem(*where, f"the tag {tag} is not allowed; use plain values"))
        if len(problems) >= 20:
            break
    return problems


def _too_deep(text: str) -> tuple[int, int] | None:
    """Where flow brackets nest past MAX_NESTING, found by counting characters.

    PyYAML takes seconds to reject a small file of thousands of nested
    brackets; a knowledge base never needs more than a few levels, so such a
    file is refused before the parser sees it. Brackets inside quoted text
    count too, which can only make this stricter than it needs to be.
    """
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return None
    depth = 0
    line, column = 1, 0
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line, column
        elif char in "]}":
            depth = max(depth - 1, 0)
    return None


def parse_knowledge(text: str, path: str = "<knowledge>") -> Parsed:
    """Check a knowledge base's text against the schema and build it."""
    empty = SourceMap()
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        return Parsed(None, (Problem(path, 1, 1, f"the file is larger than {limit} MiB"),), empty)
    deep = _too_deep(text)
    if deep is not None:
        line, column = deep
        message = f"the file is nested too deeply (more than {MAX_NESTING} levels)"
        return Parsed(None, (Problem(path, line, column, message),), empty)
    try:
        unsafe = _refuse_unsafe_yaml(text, path)
        if unsafe:
            return Parsed(None, tuple(unsafe), empty)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"not valid YAML: {error.problem or error.context}"
        return Parsed(None, (Problem(path, line, column, message),), empty)
    except yaml.YAMLError as error:
        return Parsed(None, (Problem(path, 1, 1, f"not valid YAML: {error}"),), empty)
    except RecursionError:
        return Parsed(None, (Problem(path, 1, 1, "the file is nested too deeply"),), empty)
    if root is None:
        return Parsed(None, (Problem(path, 1, 1, "the file is empty"),), empty)
    return _build(root, path)


def _build(root: Node, path: str) -> Parsed:
    reader = _Reader(path)
    top = reader.mapping(
        root,
        "the file",
        required=("version", "texts", "topics", "contact", "entries"),
        optional=("concepts",),
    )
    if top is None:
        return Parsed(None, tuple(reader.problems), reader.where)
    if "version" in top and getattr(top["version"], "value", None) != "1":
        reader.problem(top["version"], "version must be 1")
    texts = reader.texts(top["texts"]) if "texts" in top else {}
    topics = reader.topics(top["topics"]) if "topics" in top else []
    contact = reader.contact(top["contact"]) if "contact" in top else None
    concepts = reader.concepts(top["concepts"]) if "concepts" in top else []

    entries: list[Entry] = []
    first_seen: dict[str, Node] = {}
    entry_fields: dict[str, dict[str, Node]] = {}
    entry_nodes = reader.sequence(top["entries"], "entries") or [] if "entries" in top else []
    # Ids of every entry written, broken ones included: a broken entry is one
    # problem, not also a "does not exist" for each reference to it.
    declared = {
        value_node.value
        for node in entry_nodes
        if isinstance(node, MappingNode)
        for key_node, value_node in node.value
        if getattr(key_node, "value", None) == "id" and isinstance(value_node, ScalarNode)
    }
    for index, node in enumerate(entry_nodes):
        built = reader.entry(node, index)
        if built is None:
            continue
        entry, fields = built
        if entry.id in first_seen:
            line = first_seen[entry.id].start_mark.line + 1
            reader.problem(
                fields["id"], f"entry id '{entry.id}' is used twice (first on line {line})"
            )
            continue
        first_seen[entry.id] = fields["id"]
        entry_fields[entry.id] = fields
        entries.append(entry)

    word_owner: dict[str, tuple[str, Node]] = {}
    for entry in entries:
        word_nodes = entry_fields[entry.id].get("question_words")
        for node in word_nodes.value if isinstance(word_nodes, SequenceNode) else []:
            word = " ".join(words(str(node.value))) if isinstance(node, ScalarNode) else ""
            if word not in entry.question_words:
                continue  # already reported as not a question word
            if word in word_owner and word_owner[word][0] != entry.id:
                owner, first = word_owner[word]
                reader.problem(
                    node,
                    f"entry '{entry.id}': question word '{word}' already opens entry "
                    f"'{owner}' (line {first.start_mark.line + 1})",
                )
            word_owner.setdefault(word, (entry.id, node))

    topic_ids = {topic.id for topic, _ in topics}
    for entry in entries:
        fields = entry_fields[entry.id]
        if entry.topic not in topic_ids:
            reader.problem(fields["topic"], f"entry '{entry.id}': unknown topic '{entry.topic}'")
        related_nodes = fields["related"].value if "related" in fields else []
        for related_id, node in zip(entry.related, related_nodes, strict=False):
            if related_id == entry.id:
                reader.problem(node, f"entry '{entry.id}' lists itself as related")
            elif related_id not in declared:
                reader.problem(
                    node, f"entry '{entry.id}': related entry '{related_id}' does not exist"
                )
    for command, entry_id in COMMAND_ENTRIES.items():
        if "entries" in top and entry_id not in declared:
            reader.problem(
                top["entries"], f"the /{command} command opens entry '{entry_id}': add that entry"
            )
    for topic, node in topics:
        if topic.entry not in declared:
            reader.problem(node, f"topics.{topic.id}: entry '{topic.entry}' does not exist")
    if not entries and "entries" in top:
        reader.problem(top["entries"], "the knowledge base has no entries")

    if reader.problems or contact is None:
        return Parsed(None, tuple(reader.problems), reader.where)
    knowledge = KnowledgeBase(
        entries=tuple(entries),
        topics=tuple(topic for topic, _ in topics),
        texts=texts,
        contact=contact,
        source_path=path,
        concepts=tuple(concepts),
    )
    return Parsed(knowledge, (), reader.where)


def read_knowledge(path: str | Path) -> Parsed:
    """Read and check a file; problems, never exceptions, for anything wrong with it."""
    path = Path(path)
    shown = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // (1024 * 1024)
            message = f"the file is {size // (1024 * 1024)} MiB; at most {limit} MiB is accepted"
            return Parsed(None, (Problem(shown, 1, 1, message),), SourceMap())
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return Parsed(
            None,
            (Problem(shown, 1, 1, f"the file is not UTF-8 text ({error.reason})"),),
            SourceMap(),
        )
    except OSError as error:
        return Parsed(
            None, (Problem(shown, 1, 1, f"cannot read the file: {error.strerror}"),), SourceMap()
        )
    return parse_knowledge(text, shown)


def bundled_path() -> Path:
    """The knowledge base shipped with the package."""
    return Path(__file__).with_name("data") / "faq.yaml"
