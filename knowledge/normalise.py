"""Turn chat text into comparable tokens.

People type in a hurry: no accents, odd capitals, punctuation everywhere,
greetings and filler around the few words that matter. Everything the matcher
compares, stored questions and user questions alike, goes through the same
functions here, so the two sides always agree on what a token is.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

from knowledge.schema import Language

_NON_WORD = re.compile(r"[^0-9a-z]+")

# Function words, question words and chat filler in English. They carry no
# topic: "who is the contact" and "contact" should find the same entry.
ENGLISH_STOP_WORDS = frozenset(
    """
    a about above after again all also am an and any are as at be been before being
    below between both but by can could did do does doing done down during each else
    few for from further get got had has have having he her here hers him his how i
    if in into is it its itself just let lets me more most my no nor not now of off
    on once only or other our ours out over own please same she should so some such
    than that the their theirs them then there these they this those through to too
    under until up very was we were what whats when where which while who whom whose
    why will with would you your yours yourself s t d ll m re ve don doesn didn isn
    wasn aren hi hello hey hiya thanks thank thx ok okay yes yeah yep pls plz bot
    tell know want wanna need like may might must shall give show find look looking
    something anything one ones thing things someone anyone im id ive youre dear sir
    madam kindly quick question ask asking wondering curious say said
    much many lot lots very really so sorry bother good morning afternoon evening night
    bye goodbye cheers great nice cool awesome perfect welcome lately recently
    somebody anybody everybody maybe
    whos wheres whens hows thats theres whats u ur r abt wat wht pls
    actually basically exactly even still anyway anyways honestly literally
    mention mentions mentioned mentioning
    """.split()
)

# The same for Spanish, written without accents because text is compared
# after accents are folded away.
SPANISH_STOP_WORDS = frozenset(
    """
    a al algo alguien algun alguna algunas alguno algunos ante antes aqui asi aun
    bien cada como con contra cual cuales cuando cuanto cuanta cuantos cuantas de
    del desde donde dos e el ella ellas ellos en entre era eran es esa esas ese eso
    esos esta estaba estan estar estas este esto estos fue fueron ha hay haya he
    hola la las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o os
    otra otro para pero poco por porque puede pueden puedo que quien quienes se sea
    ser si sido sin sobre son su sus tal tambien te tengo tiene tienen toda todo
    todos tu tus u un una uno unos unas usted ustedes vez y ya yo gracias favor
    porfa porfavor oye buenas buenos dias tardes noches saludos quiero quisiera
    queria necesito saber dime decir digame dame puedes podria podrias conocer busco
    buscando ayuda ayudame hablame cuentame explicame pregunta duda acerca respecto
    tema
    mucho muchas muchisimas muchisimo mil adios chao hasta luego perdon perdona
    disculpa disculpe molestar genial perfecto vale bueno buen buena
    estoy estamos gustaria encantaria interesa llevo
    q k pq xq porq d x tb tmb tmbn pa xa
    realmente exactamente basicamente justamente
    menciona mencionan mencionado mencionada mencionados mencionadas mencionar
    """.split()
)

# Words that only say which kind of fact is asked, wherever they stand: "the
# outcome of the dialogue", "who chairs the committee", "migration statistics".
# They name no topic, so they are no evidence for an entry (nor against one, as
# unknown words would be); knowledge.question_kind reads them as the kind.
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "leader": ("chairs", "chaired", "chairman", "chairwoman", "presides", "presided", "preside",
               "presidio", "dirige", "dirigen", "encabeza", "heads", "headed", "leads"),
    "number": ("statistics", "figures", "budget", "average", "percentage", "estadisticas",
               "cifras", "presupuesto", "promedio", "porcentaje"),
    "outcome": ("outcome", "outcomes", "conclude", "concluded", "concluyo", "resultado",
                "resultados"),
}  # fmt: skip

STOP_WORDS = (
    ENGLISH_STOP_WORDS
    | SPANISH_STOP_WORDS
    | frozenset(word for words_ in KIND_WORDS.values() for word in words_)
)

# Question words a knowledge base may give an entry (`question_words`), so that
# "when?" alone opens it; all of them are stop words, which the matcher ignores.
QUESTION_WORDS = frozenset(
    "when where who what which why how cuando donde quien quienes que cual cuales como".split()
)

# The only other words a message may hold for its question word to open an
# entry: "when is it?", "¿y dónde fue?". "where are you from?" or "where can I
# get it?" ask something else, and get the greeting.
QUESTION_FILLER = frozenset(
    """
    is it was will be does do did the this that there exactly and or so then please
    hi hello hey ok es fue sera era son eso esto el la lo se y o entonces hola oye
    por favor porfa
    """.split()
)

# Words that say thank you: answered with "you're welcome", not a greeting.
THANKS_WORDS = frozenset("thanks thank thx ty cheers gracias merci".split())

# Characters that only Spanish writing uses; a strong hint of the language.
SPANISH_MARKS = frozenset("¿¡ñÑáéíóúÁÉÍÓÚü")


def fold(text: str) -> str:
    """Lower-case and strip accents, so that "teléfono" and "telefono" agree."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """All word tokens of a text, stop words included (language detection needs them)."""
    return [token for token in _NON_WORD.split(fold(text)) if token]


_STEMMERS = {
    "en": snowballstemmer.stemmer("english"),
    "es": snowballstemmer.stemmer("spanish"),
}
# Words already stemmed, per language: chat repeats its words, and the
# pure-Python stemmer costs a few microseconds a word.
STEMS_REMEMBERED = 100_000


@lru_cache(maxsize=STEMS_REMEMBERED)
def stem(token: str, language: Language) -> str:
    """The Snowball stem of a folded word in its language: "recomendaciones" is "recomend".

    Snowball's English and Spanish stemmers fold plurals, genders and the
    common derivations ("regularization", "regularizacion" and "regularizar"
    meet), which hand-written plural rules did not.
    """
    if len(token) <= 3 or token.isdigit():
        return token
    return _STEMMERS[language].stemWord(token)


def content_words(text: str) -> list[str]:
    """The folded words that can tell one entry from another, in order, without repeats."""
    return list(dict.fromkeys(token for token in words(text) if token not in STOP_WORDS))


# Phrases after which a chatty message says what it asks: "Hi, I'm a student
# writing a report and I'd like to know what ECLAC recommends", "buenas, una
# consulta: ¿quién es el contacto?". Folded, as `fold` leaves text.
REQUEST_CUES = (
    "like to know",
    "want to know",
    "wanted to know",
    "need to know",
    "tell me",
    "do you know",
    "wondering",
    "quick question",
    "saber",
    "decir",
    "decirme",
    "dime",
    "una pregunta",
    "una consulta",
)
REQUEST_CUE = re.compile(
    r"\b(?:" + "|".join(cue.replace(" ", r"\W+") for cue in REQUEST_CUES) + r")\b|:"
)


# Who is asking and what they are working on: the words a self-introduction
# before a question may hold ("I'm a student writing a report for my class").
# Any other word there names a subject ("For the World Bank report, who wrote
# it?"), and then the question is not read apart from it.
SELF_DESCRIPTION = frozenset(
    """
    student students pupil writing write doing preparing working work report paper
    essay homework assignment project presentation class course university college
    school professor teacher journalist reporter newspaper magazine radio blog article
    thesis research researcher piece story job
    soy somos estudiante estudiantes escribiendo escribo haciendo hago preparando
    preparo trabajando trabajo informe tarea proyecto presentacion clase curso
    universidad facultad colegio escuela profesor profesora periodista reportero
    periodico diario revista blog articulo tesis investigacion investigador nota
    """.split()
)
_SELF_INTRODUCTION = STOP_WORDS | SELF_DESCRIPTION


def asked_part(text: str) -> str | None:
    """What a message asks after a self-introduction and a request cue, folded.

    None unless the text before the last cue ("I'd like to know", "quisiera
    saber", a colon) holds only stop words and words of self-description.
    """
    folded = fold(text)
    cues = list(REQUEST_CUE.finditer(folded))
    if not cues:
        return None
    preamble = _NON_WORD.split(folded[: cues[-1].start()])
    if any(word and word not in _SELF_INTRODUCTION for word in preamble):
        return None
    return folded[cues[-1].end() :].strip() or None


_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")


def last_question(text: str) -> str | None:
    """The last sentence of a message of several that asks something, or its last sentence.

    None for a message of one sentence: it is read whole anyway.
    """
    sentences = [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]
    if len(sentences) < 2:
        return None
    asking = [sentence for sentence in sentences if "?" in sentence]
    return (asking or sentences)[-1]
