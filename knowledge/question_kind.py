"""What kind of fact a question asks for: a place, a time, who, how many, an outcome.

"Where did the 2005 Ibero-American Summit meet?" shares every word with the
entry on that summit, yet the press release never says where it met. An entry
lists the kinds of fact its answer holds (`holds:` in the knowledge base); a
question that asks for a kind its best entry does not hold is one the release
does not answer, however well the words match. The answer policy reads that
as a feature. The cues are folded phrases, matched on whole words.
"""

from __future__ import annotations

import re

from knowledge.normalise import KIND_WORDS, REQUEST_CUE, fold
from knowledge.schema import KINDS

# Folded cue phrases (regular expressions over words) that open a question,
# within its first words: "where", "en que ano". Opening only, since
# "scientists who emigrated" asks no "who".
# A plural "which countries" asks who; a singular "which country" asks where.
OPENING_CUES: dict[str, tuple[str, ...]] = {
    "place": (
        "where",
        "which city",
        "what city",
        "which country",
        "what country",
        "in which place",
        "what place",
        "donde",
        "que ciudad",
        "cual ciudad",
        "que pais",
        "cual pais",
        "en que lugar",
        "que lugar",
        "en que ciudad",
        "en que pais",
    ),
    "time": (
        "when",
        "what year",
        "which year",
        "what date",
        "which date",
        "what day",
        "which day",
        "since when",
        "until when",
        "how long",
        "what time",
        "cuando",
        "que ano",
        "en que ano",
        "cual ano",
        "que fecha",
        "que dia",
        "desde cuando",
        "hasta cuando",
        "cuanto dura",
        "cuanto tiempo",
        "a que hora",
    ),
    "who": (
        "who",
        "whom",
        "whose",
        "quien",
        "quienes",
        r"(?:which|what|que|cuales)(?: \w+)? (?:countries|nations|governments|organi[sz]ations?"
        r"|agency|agencies|body|bodies|institutions?|paises|naciones|gobiernos|organismos?"
        r"|organizacion|organizaciones|instituciones?)",
    ),
    "number": (
        "how many",
        "how much",
        "what percentage",
        "what percent",
        "what proportion",
        "cuantos",
        "cuantas",
        "cuanto",
        "cuanta",
        "que porcentaje",
        "que proporcion",
    ),
    "outcome": (
        "what came out",
        "what was decided",
        "what was agreed",
        "what did it achieve",
        "que se acordo",
        "que se decidio",
        "que se logro",
    ),
    "leader": (),
    "later": (),
}
# Cues that ask for their kind wherever they stand ("the venue?", "who chairs").
# (with normalise.KIND_WORDS, the single words, added below)
ANYWHERE_CUES: dict[str, tuple[str, ...]] = {
    "place": ("venue", "location", "host city", "hosted", "ciudad sede"),
    "time": (),
    "who": (),
    "leader": ("led by", "in charge", "a cargo", "al frente"),
    "number": ("how big", "rate of", "tasa de"),
    "outcome": (),
    "later": (
        r"(?:next|upcoming|following|future|proxim[oa]s?|siguientes?|futur[oa]s?)(?: \w+){0,2}"
        r" (?:sessions?|meetings?|summits?|conferences?|editions?|one|sesion|sesiones|periodo"
        r"|reunion|reuniones|cumbres?|conferencias?)",
    ),
}  # fmt: skip

for _kind, _words in KIND_WORDS.items():
    ANYWHERE_CUES[_kind] = (*ANYWHERE_CUES[_kind], *_words)

# How far into a question (in words) an opening cue may stand: "and where?",
# "ok so when", "y en que ano".
OPENING_WINDOW = 3


def _pattern(cues: tuple[str, ...]) -> re.Pattern[str] | None:
    if not cues:
        return None
    return re.compile(r"\b(?:" + "|".join(cues) + r")\b")


_OPENING = {kind: _pattern(cues) for kind, cues in OPENING_CUES.items()}
_ANYWHERE = {kind: _pattern(cues) for kind, cues in ANYWHERE_CUES.items()}
_CLAUSES = re.compile(
    r"[.?!:;,()\n]+|\b(?:and|but|or|y|pero|o)\b|" + REQUEST_CUE.pattern.replace(r"|:", "")
)
_NON_WORD = re.compile(r"[^0-9a-z]+")


def asked_kinds(message: str) -> tuple[str, ...]:
    """The kinds of fact a message asks for, in KINDS order; empty when it asks for none."""
    folded = fold(message)
    whole = " ".join(_NON_WORD.split(folded)).strip()
    openings = []
    for clause in _CLAUSES.split(folded):
        clause_words = _NON_WORD.split(clause.strip())
        openings.append(" ".join(word for word in clause_words if word))
    found = []
    for kind in KINDS:
        anywhere = _ANYWHERE[kind]
        opening = _OPENING[kind]
        if anywhere is not None and anywhere.search(whole):
            found.append(kind)
            continue
        for start in openings:
            head = start.split()
            for offset in range(min(OPENING_WINDOW, len(head))):
                if opening is not None and opening.match(" ".join(head[offset:])):
                    found.append(kind)
                    break
            else:
                continue
            break
    return tuple(found)
