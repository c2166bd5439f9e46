"""The values a question names, and whether it asks yes or no.

"Did Chile sign the migrant workers convention?" names a country and wants a
yes; "Did Argentina sign it?" names one the release does not list, and a bare
"no" would be wrong (the list says "include"); "Where was the thirtieth
session held?" names a session the release is not about. An entry lists the
values its answer states (`values:` in the knowledge base: countries, cities,
years, session numbers); the engine compares the two (`knowledge/engine.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from knowledge.normalise import SPANISH_MARKS, SPANISH_STOP_WORDS, fold, words

VALUE_KINDS = ("country", "city", "month", "year", "session")
# The kinds whose names come from data/names.yaml.
_NAMED_KINDS = {"country": "countries", "city": "cities", "month": "months"}

_WORDS = re.compile(r"[^0-9a-z]+")


def _folded(text: str) -> str:
    return " ".join(_WORDS.split(fold(text))).strip()


@dataclass(frozen=True)
class Named:
    """A value a text names: a country or city (its canonical name), a year, a session number."""

    kind: str
    value: str


@cache
def _names() -> dict[str, list[list[str]]]:
    """data/names.yaml: per kind, lists of a canonical name and its other names."""
    path = Path(__file__).with_name("data") / "names.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def _places() -> dict[str, tuple[re.Pattern[str], dict[str, str]]]:
    """Per kind, one pattern of every name, and each folded name's canonical name."""
    data = _names()
    result = {}
    for kind, key in _NAMED_KINDS.items():
        canonical: dict[str, str] = {}
        for names in data[key]:
            for name in names:
                canonical[_folded(name)] = names[0]
        longest_first = sorted(canonical, key=len, reverse=True)
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, longest_first)) + r")\b")
        result[kind] = (pattern, canonical)
    return result


@cache
def _spanish_names() -> dict[str, str]:
    """Canonical name -> its Spanish name, where names.yaml gives one."""
    data = _names()
    return {
        names[0]: names[1] for key in _NAMED_KINDS.values() for names in data[key] if len(names) > 1
    }


def display_name(value: str, language: str) -> str:
    """A named value as a reply in that language writes it: "Brasil", "abril"."""
    return _spanish_names().get(value, value) if language == "es" else value


def canonical_name(kind: str, name: str) -> str | None:
    """The canonical form of a value as an entry writes it, or None if unknown."""
    if kind in _NAMED_KINDS:
        return _places()[kind][1].get(_folded(name))
    if kind == "year":
        return name if re.fullmatch(r"(19|20)\d\d", name) else None
    if kind == "session":
        found = session_numbers(name)
        return found[0] if found else (name if name.isdigit() else None)
    return None


_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
_TENS = {
    "twentieth": 20, "thirtieth": 30, "fortieth": 40, "twenty": 20, "thirty": 30, "forty": 40,
    "vigesimo": 20, "vigesima": 20, "trigesimo": 30, "trigesima": 30,
    "cuadragesimo": 40, "cuadragesima": 40,
}  # fmt: skip
_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "primer": 1, "primero": 1, "primera": 1, "segundo": 2,
    "segunda": 2, "tercer": 3, "tercero": 3, "tercera": 3, "cuarto": 4, "cuarta": 4,
    "quinto": 5, "quinta": 5, "sexto": 6, "sexta": 6, "septimo": 7, "septima": 7,
    "octavo": 8, "octava": 8, "noveno": 9, "novena": 9,
}  # fmt: skip
_ORDINAL = re.compile(
    r"\b(?:(\d{1,2})\s?(?:st|nd|rd|th|o|a|er|ero|era|va|vo)"
    r"|(" + "|".join(_TENS) + r")(?:\s(" + "|".join(_UNITS) + r"))?)\b"
)
_SESSION_WORDS = re.compile(r"\b(?:session|sessions|sesion|sesiones|periodo|meeting|reunion)\b")
_NOT_A_SESSION = re.compile(r"^\s(?:century|centuries|siglo)\b")


def session_numbers(text: str) -> list[str]:
    """Ordinals of sessions a text names ("thirtieth", "31st", "trigésimo segundo")."""
    folded = _folded(text)
    if not _SESSION_WORDS.search(folded):
        return []
    found = []
    for match in _ORDINAL.finditer(folded):
        if _NOT_A_SESSION.match(folded[match.end() :]):
            continue  # "the 21st century"
        digits, tens, unit = match.groups()
        if digits:
            number = int(digits)
        elif tens in ("twenty", "thirty", "forty") and unit is None:
            continue  # "thirty countries" is a count, not an ordinal
        else:
            number = _TENS[tens] + (_UNITS[unit] if unit else 0)
        found.append(str(number))
    return found


def named_values(text: str) -> tuple[Named, ...]:
    """Every country, city, month, year and session number a text names, in that order."""
    folded = _folded(text)
    named: list[Named] = []
    cities_pattern, city_names = _places()["city"]
    city_spans = []
    for match in cities_pattern.finditer(folded):
        city_spans.append(match.span())
    countries_pattern, country_names = _places()["country"]
    for match in countries_pattern.finditer(folded):
        inside_city = any(start <= match.start() < end for start, end in city_spans)
        if not inside_city:  # "Mexico City" names a city, not the country
            named.append(Named("country", country_names[match.group()]))
    for start, end in city_spans:
        named.append(Named("city", city_names[folded[start:end]]))
    months_pattern, month_names = _places()["month"]
    named += [Named("month", month_names[m.group()]) for m in months_pattern.finditer(folded)]
    named += [Named("year", year) for year in _YEAR.findall(folded)]
    named += [Named("session", number) for number in session_numbers(text)]
    return tuple(dict.fromkeys(named))


_WH_WORDS = frozenset(
    """
    what which who whom whose where when why how tell explain describe list give
    que cual cuales quien quienes donde cuando como cuanto cuanta cuantos cuantas por
    dime explica explicame describe cuentame
    """.split()
)
_REQUESTING = frozenset("can could would will".split())
# Spanish requests worded as questions: "¿me pasan…?", "¿puedes decirme…?".
_PEDIR = frozenset(
    (
        "puedes", "puede", "pueden", "podrias", "podria", "podrian", "me pasas", "me pasan",
        "me pasa", "me das", "me dan", "me da", "me dices", "me dice", "me envias",
        "me envian", "me mandas", "me mandan", "me compartes", "me puedes", "me podrias",
        "me podria", "me facilitas", "me facilitan",
    )
)  # fmt: skip
_AUXILIARIES = frozenset(
    """
    is are was were do does did has have had can could will would should shall isn aren
    wasn weren don doesn didn hasn haven won wouldn
    """.split()
)


_QUESTION_SEGMENTS = re.compile(r"[^.:;!¿?\n]*\?")


def question_part(text: str) -> str:
    """The last segment of a message that ends in a question mark, or the whole message.

    "Consulta de un medio de Quito: ¿qué papel…?" asks "qué papel…?".
    """
    asked = [part.strip() for part in _QUESTION_SEGMENTS.findall(text) if part.strip(" ?")]
    return asked[-1] if asked else text


def is_yes_no(text: str) -> bool:
    """Whether a question asks yes or no ("Did Chile sign…?", "¿Brasil firmó…?").

    English: it opens with an auxiliary verb, or asks "is it true". Spanish: a
    question (¿ or ?) that opens with no question word ("¿La CEPAL propone…?").
    Only the message's last question is read.
    """
    asked = question_part(text)
    question_mark = "?" in text or "¿" in text
    text = asked
    folded = _folded(text)
    said = folded.split()
    if not said or _WH_WORDS.intersection(said[:2]):
        return False
    if said[0] in _REQUESTING and said[1:2] == ["you"]:
        return False  # "can you recommend…" asks for something, not whether
    if " ".join(said[:2]) in _PEDIR or said[0] in _PEDIR:
        return False  # "¿me pasan el contacto…?", "¿podrías darme…?": a request
    if said[0] in _AUXILIARIES or "is it true" in folded or "es cierto" in folded:
        return True
    return question_mark and _looks_spanish(text)


def _looks_spanish(text: str) -> bool:
    said = words(text)
    spanish = sum(word in SPANISH_STOP_WORDS for word in said)
    return "¿" in text or any(ch in SPANISH_MARKS for ch in text) or spanish >= 2
