"""The press contact as a vCard, the format every phone's address book imports."""

from __future__ import annotations

from knowledge.contact_details import ContactField, Detail, contact_details
from knowledge.schema import Contact, Language

# The vCard 3.0 property of each detail (RFC 2426); N, the name in its parts, is
# written from the first and last name.
_PROPERTY = {
    Detail.NAME: "FN",
    Detail.TITLE: "TITLE",
    Detail.ORGANISATION: "ORG",
    Detail.PHONE: "TEL;TYPE=CELL",
    Detail.EMAIL: "EMAIL;TYPE=INTERNET",
    Detail.WEBSITE: "URL",
}
# Free text, escaped; phone numbers, addresses and the URL are kept as they are
# (an escaped comma would break a URL).
_TEXT = frozenset({Detail.NAME, Detail.TITLE, Detail.ORGANISATION})


def _escape(value: str) -> str:
    """vCard 3.0 text escaping (RFC 2426): backslash, comma, semicolon, newline."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def _property(field: ContactField) -> str:
    value = _escape(field.value) if field.detail in _TEXT else field.value
    return f"{_PROPERTY[field.detail]}:{value}"


def vcard(contact: Contact, language: Language) -> str:
    """A vCard 3.0 with every detail the bot shows of the contact, in its order."""
    details = contact_details(contact, language)
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{_escape(details.last_name)};{_escape(details.first_name)};;;",
        *(_property(field) for field in details.fields),
        "END:VCARD",
    ]
    return "\r\n".join(lines)
