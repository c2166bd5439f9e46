"""The press contact's details: which are shown, in which order, on which line, with
which mark. Every interface formats this one list.

Telegram's message (handlers/render.py: escaping, tap-to-copy, bold name), the
contact card to save (knowledge/vcard.py: vCard syntax) and the plain text of
the terminal chat and `faqbot ask` (knowledge/answer.py) each once listed the
details themselves, and they drifted apart (the plain text lost the web
address). Here is the only list: a detail added here reaches all three.

The marks are emoji, the same in both languages; every word shown comes from
the knowledge base's `contact` (its title and organisation in each language).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from knowledge.schema import Contact, Language

# Between the details that share a line (title, organisation).
SHARED_LINE_SEPARATOR = ", "


class Detail(StrEnum):
    """What a detail is: renderers format each kind its own way."""

    NAME = "name"
    TITLE = "title"
    ORGANISATION = "organisation"
    PHONE = "phone"  # a mobile
    EMAIL = "email"
    WEBSITE = "website"


@dataclass(frozen=True)
class ContactField:
    detail: Detail
    value: str


@dataclass(frozen=True)
class ContactLine:
    """One line as shown: a mark that says what it holds ("" for none), then its fields."""

    mark: str
    fields: tuple[ContactField, ...]

    def shown(self, value: Callable[[ContactField], str]) -> str:
        """The line with each field as `value` writes it (plain, or escaped HTML)."""
        text = SHARED_LINE_SEPARATOR.join(value(field) for field in self.fields)
        return f"{self.mark} {text}" if self.mark else text


@dataclass(frozen=True)
class ContactDetails:
    """The press contact in one language, line by line, as every interface shows it."""

    first_name: str
    last_name: str
    lines: tuple[ContactLine, ...]

    @property
    def fields(self) -> tuple[ContactField, ...]:
        return tuple(field for line in self.lines for field in line.fields)

    def shown(self, value: Callable[[ContactField], str]) -> str:
        """All the lines, each field as `value` writes it."""
        return "\n".join(line.shown(value) for line in self.lines)


def contact_details(contact: Contact, language: Language) -> ContactDetails:
    """The contact's details in `language`: name; title, organisation; each phone;
    e-mail; web address."""

    def line(mark: str, *fields: tuple[Detail, str]) -> ContactLine:
        return ContactLine(mark, tuple(ContactField(detail, value) for detail, value in fields))

    return ContactDetails(
        first_name=contact.first_name,
        last_name=contact.last_name,
        lines=(
            line("", (Detail.NAME, contact.full_name)),
            line(
                "",
                (Detail.TITLE, contact.title(language)),
                (Detail.ORGANISATION, contact.organisation(language)),
            ),
            *(line("📱", (Detail.PHONE, phone)) for phone in contact.phones),
            line("✉️", (Detail.EMAIL, contact.email)),
            line("🌐", (Detail.WEBSITE, contact.website)),
        ),
    )
