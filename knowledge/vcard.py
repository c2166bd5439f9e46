"""The press contact as a vCard, the format every phone's address book imports."""

from __future__ import annotations

from knowledge.schema import Contact, Language


def _escape(value: str) -> str:
    """vCard 3.0 text escaping (RFC 2426): backslash, comma, semicolon, newline."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def vcard(contact: Contact, language: Language) -> str:
    """A vCard 3.0 with name, title, organisation, every phone and the e-mail."""
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{_escape(contact.last_name)};{_escape(contact.first_name)};;;",
        f"FN:{_escape(contact.full_name)}",
        f"ORG:{_escape(contact.organisation(language))}",
        f"TITLE:{_escape(contact.title(language))}",
        *(f"TEL;TYPE=CELL:{phone}" for phone in contact.phones),
        f"EMAIL;TYPE=INTERNET:{contact.email}",
        f"URL:{contact.website}",
        "END:VCARD",
    ]
    return "\r\n".join(lines)
