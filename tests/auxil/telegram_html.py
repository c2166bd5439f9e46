"""Telegram's HTML parse mode, re-implemented so tests fail where Telegram would.

The parser follows the one Telegram itself runs (``parse_html`` in TDLib's
``td/telegram/MessageEntity.cpp``): the same tags, the same attribute syntax,
the same error texts and the same byte offsets in them.  Two rules are
*stricter* than Telegram, on purpose, and can be switched off:

* ``strict_ampersand``: Telegram's documentation says every ``&`` that does
  not start an entity must be escaped, but the server quietly keeps such an
  ``&`` literally (and accepts ``&amp`` without the ``;``).  A bot that sends
  an unescaped ``&`` usually forgot to escape user text, so the fake rejects it.
* ``require_href``: Telegram turns ``<a>text</a>`` into a link to ``text`` if
  that is a valid URL and silently drops the link otherwise; the fake demands
  a non-empty ``href`` instead.

``parse_html`` returns the visible text and the entities Telegram would attach
(offsets and lengths in UTF-16 code units, as the Bot API counts them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SUPPORTED_TAGS",
    "HTMLParseError",
    "ParsedText",
    "parse_html",
    "strip_formatted",
    "utf16_len",
    "validate_html",
]

#: Tags Telegram accepts (Bot API "HTML style"); anything else is an error.
SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)

# TDLib's is_space(); the end of the text is handled separately.
_SPACES = frozenset(" \t\r\n\v\f")

_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HTMLParseError(ValueError):
    """Telegram's "can't parse entities" refusal; ``str()`` is the full description."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.description = f"Bad Request: can't parse entities: {reason}"
        super().__init__(self.description)


@dataclass(frozen=True)
class ParsedText:
    """Visible text plus Bot API ``MessageEntity`` dicts, as Telegram would store them."""

    text: str
    entities: tuple[dict[str, Any], ...] = ()


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    text_offset: int
    expandable: bool = False


@dataclass
class _Parser:
    """One pass over the source, mirroring TDLib's loop so error offsets agree."""

    source: str
    strict_ampersand: bool
    require_href: bool
    out: list[str] = field(default_factory=list)
    utf16: int = 0
    chars: int = 0
    stack: list[_OpenTag] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    # -- helpers -----------------------------------------------------------

    def byte_offset(self, index: int) -> int:
        """Telegram reports positions as byte offsets into the UTF-8 source."""
        return len(self.source[:index].encode("utf-8"))

    def at(self, index: int) -> str:
        """The character at ``index`` or "" past the end (TDLib reads a NUL there)."""
        return self.source[index] if index < len(self.source) else ""

    def skip_spaces(self, index: int) -> int:
        while self.at(index) in _SPACES and self.at(index) != "":
            index += 1
        return index

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.utf16 += utf16_len(text)
        self.chars += len(text)

    # -- entities (&...;) --------------------------------------------------

    def decode_entity(self, index: int) -> tuple[str, int] | None:
        """Decode an HTML entity at ``index`` the way TDLib does, or None."""
        src = self.source
        end = index + 1
        if self.at(end) == "#":
            end += 1
            digits_start = end
            if self.at(end) == "x":
                end += 1
                digits_start = end
                while self.at(end) and self.at(end) in "0123456789abcdefABCDEF":
                    end += 1
                base = 16
            else:
                while self.at(end) and self.at(end) in "0123456789":
                    end += 1
                base = 10
            digits = src[digits_start:end]
            if not digits or end - index >= 10:
                return None
            code = int(digits, base)
            if code == 0 or code >= 0x10FFFF:
                return None
            if 0xD800 <= code <= 0xDFFF:
                raise HTMLParseError(
                    "Text contains invalid Unicode characters after decoding HTML entities, "
                    "check for unmatched surrogate code units"
                )
            char = chr(code)
        else:
            while self.at(end).isascii() and self.at(end).isalpha():
                end += 1
            char = _NAMED_ENTITIES.get(src[index + 1 : end], "")
            if not char:
                return None
        if self.at(end) == ";":
            return char, end + 1
        if self.strict_ampersand:
            return None
        return char, end

    def ampersand(self, index: int) -> tuple[str, int]:
        """Text for an ``&`` and the index after it; strict mode rejects a bare one."""
        decoded = self.decode_entity(index)
        if decoded is not None:
            return decoded
        if self.strict_ampersand:
            raise HTMLParseError(
                f'Character "&" must start an HTML entity (&amp; &lt; &gt; &quot; &#N;) '
                f"at byte offset {self.byte_offset(index)}"
            )
        return "&", index + 1

    # -- tags --------------------------------------------------------------

    def start_tag(self, begin: int) -> int:
        """Parse ``<name attr=...>`` at ``begin``; return the index after ``>``."""
        i = begin + 1
        while self.at(i) and self.at(i) not in _SPACES and self.at(i) != ">":
            i += 1
        if not self.at(i):
            raise HTMLParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = _ascii_lower(self.source[begin + 1 : i])
        if name not in SUPPORTED_TAGS:
            raise HTMLParseError(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}'
            )
        attributes, expandable, i = self.attributes(name, begin, i)
        argument = self.tag_argument(name, attributes, begin)
        self.stack.append(_OpenTag(name, argument, self.utf16, self.chars, expandable))
        return i + 1

    def attributes(self, name: str, begin: int, i: int) -> tuple[dict[str, str], bool, int]:
        """Read attributes up to ``>``; return them, the expandable flag and ``>``'s index."""
        attributes: dict[str, str] = {}
        expandable = False
        where = f'the tag "{name}" at byte offset {self.byte_offset(begin)}'
        while self.at(i) != ">":
            i = self.skip_spaces(i)
            if not self.at(i):
                raise HTMLParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            if self.at(i) == ">":
                break
            attribute_begin = i
            while self.at(i) and self.at(i) not in _SPACES and self.at(i) not in "=>":
                i += 1
            attribute = self.source[attribute_begin:i]
            if not attribute:
                raise HTMLParseError(f"Empty attribute name in {where}")
            i = self.skip_spaces(i)
            if self.at(i) != "=":
                if name == "blockquote" and attribute == "expandable" and self.at(i):
                    expandable = True
                    continue
                raise HTMLParseError(
                    f"Expected equal sign in declaration of an attribute of {where}"
                )
            i = self.skip_spaces(i + 1)
            if not self.at(i):
                raise HTMLParseError(
                    f'Unclosed start tag "{name}" at byte offset {self.byte_offset(begin)}'
                )
            value, i = self.attribute_value(i)
            if not self.at(i):
                raise HTMLParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            attributes[attribute] = value
        return attributes, expandable, i

    def attribute_value(self, i: int) -> tuple[str, int]:
        """A quoted string (entities decoded) or an unquoted name token (lower-cased)."""
        quote = self.at(i)
        if quote not in ("'", '"'):
            token_begin = i
            while self.at(i) and (_is_ascii_alnum(self.at(i)) or self.at(i) in ".-"):
                i += 1
            if self.at(i) and self.at(i) not in _SPACES and self.at(i) != ">":
                raise HTMLParseError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(token_begin)}"
                )
            return _ascii_lower(self.source[token_begin:i]), i
        i += 1
        value: list[str] = []
        while self.at(i) and self.at(i) != quote:
            if self.at(i) == "&":
                char, i = self.ampersand(i)
                value.append(char)
                continue
            value.append(self.at(i))
            i += 1
        if self.at(i) == quote:
            i += 1
        return "".join(value), i

    def tag_argument(self, name: str, attributes: dict[str, str], begin: int) -> str:
        """The one attribute each tag cares about; enforce span's and a's requirements."""
        where = f"at byte offset {self.byte_offset(begin)}"
        if name == "a":
            href = attributes.get("href", "")
            if self.require_href and not href:
                raise HTMLParseError(f'Tag "a" must have a non-empty attribute "href" {where}')
            return href
        if name == "span":
            css = attributes.get("class", "")
            if css != "tg-spoiler":
                raise HTMLParseError(f'Tag "span" must have class "tg-spoiler" {where}')
            return "spoiler"
        if name == "code":
            css = attributes.get("class", "")
            return css.removeprefix("language-") if css.startswith("language-") else ""
        if name == "tg-emoji":
            return attributes.get("emoji-id", "")
        return ""

    def end_tag(self, begin: int) -> int:
        """Parse ``</name>`` at ``begin``; return the index after ``>``."""
        if not self.stack:
            raise HTMLParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        i = begin + 2
        while self.at(i) and self.at(i) not in _SPACES and self.at(i) != ">":
            i += 1
        end_name = _ascii_lower(self.source[begin + 2 : i])
        i = self.skip_spaces(i)
        if self.at(i) != ">":
            raise HTMLParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        open_tag = self.stack[-1]
        if end_name and end_name != open_tag.name:
            raise HTMLParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{open_tag.name}>", found "</{end_name}>"'
            )
        self.stack.pop()
        if self.utf16 > open_tag.utf16_offset:
            self.add_entity(open_tag)
        return i + 1

    def add_entity(self, tag: _OpenTag) -> None:
        """Turn a closed tag into the MessageEntity Telegram would store."""
        entity: dict[str, Any] = {
            "type": "",
            "offset": tag.utf16_offset,
            "length": self.utf16 - tag.utf16_offset,
        }
        if tag.name in _SIMPLE_ENTITY_TYPES:
            entity["type"] = _SIMPLE_ENTITY_TYPES[tag.name]
        elif tag.name == "tg-emoji":
            if not _is_nonzero_int64(tag.argument):
                raise HTMLParseError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=tag.argument)
        elif tag.name == "a":
            # Without href Telegram links the text itself, if it is a URL, else drops the link.
            url = tag.argument or "".join(self.out)[tag.text_offset :]
            if not tag.argument and not re.match(r"(?i)(https?|tg)://\S+$", url):
                return
            entity.update(type="text_link", url=url)
        elif tag.name == "code":
            entity["type"] = "code"
            if tag.argument:
                entity["language"] = tag.argument
        elif tag.name == "pre":
            entity["type"] = "pre"
            last = self.entities[-1] if self.entities else None
            if last is not None and last["type"] == "code" and _same_span(last, entity):
                self.entities.pop()
                if "language" in last:
                    entity["language"] = last["language"]
        else:  # blockquote
            entity["type"] = "expandable_blockquote" if tag.expandable else "blockquote"
        self.entities.append(entity)

    # -- driver ------------------------------------------------------------

    def run(self) -> ParsedText:
        i = 0
        src = self.source
        while i < len(src):
            char = src[i]
            if char == "&":
                text, i = self.ampersand(i)
                self.emit(text)
            elif char != "<":
                run_end = _next_special(src, i)
                self.emit(src[i:run_end])
                i = run_end
            elif self.at(i + 1) == "/":
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            raise HTMLParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), tuple(entities))


def parse_html(
    source: str, *, strict_ampersand: bool = True, require_href: bool = True
) -> ParsedText:
    """Parse Telegram HTML; raise :class:`HTMLParseError` with Telegram's wording."""
    return _Parser(source, strict_ampersand, require_href).run()


def validate_html(source: str, *, strict_ampersand: bool = True) -> str:
    """Return the visible text of ``source`` or raise :class:`HTMLParseError`.

    Other tests use this to check that whatever the bot renders would be
    accepted by Telegram, without going through the fake server.
    """
    return parse_html(source, strict_ampersand=strict_ampersand).text


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and offsets."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def strip_formatted(parsed: ParsedText) -> ParsedText:
    """Drop leading/trailing whitespace as Telegram does, keeping entities aligned."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        return parsed
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(stripped, tuple(entities))


def _next_special(src: str, start: int) -> int:
    """Index of the next ``&`` or ``<`` at or after ``start`` (or the end)."""
    ends = [pos for pos in (src.find("&", start), src.find("<", start)) if pos != -1]
    return min(ends) if ends else len(src)


def _ascii_lower(text: str) -> str:
    """TDLib lower-cases ASCII only; non-ASCII tag names keep their case in errors."""
    return "".join(c.lower() if c.isascii() else c for c in text)


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _is_nonzero_int64(text: str) -> bool:
    try:
        value = int(text)
    except ValueError:
        return False
    return value != 0 and -(2**63) <= value < 2**63


def _same_span(first: dict[str, Any], second: dict[str, Any]) -> bool:
    return first["offset"] == second["offset"] and first["length"] == second["length"]
