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

from knowledge.normalise import fold
from knowledge.schema import KINDS

# Folded cue phrases for each kind, English and Spanish. A plural "which
# countries" asks who; a singular "which country" asks where.
CUES: dict[str, tuple[str, ...]] = {
    "place": (
        "where",
        "which city",
        "what city",
        "which country",
        "what country",
        "venue",
        "location",
        "in which place",
        "what place",
        "host city",
        "hosted",
        "hosts",
        "donde",
        "que ciudad",
        "cual ciudad",
        "que pais",
        "cual pais",
        "en que lugar",
        "que lugar",
        "sede",
        "ciudad sede",
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
        "which countries",
        "what countries",
        "which organization",
        "which organisation",
        "which body",
        "which agency",
        "which institution",
        "chairs",
        "chaired",
        "presides",
        "heads",
        "led by",
        "quien",
        "quienes",
        "que paises",
        "cuales paises",
        "que organismo",
        "que organizacion",
        "que institucion",
        "preside",
        "presidio",
        "dirige",
        "encabeza",
    ),
    "number": (
        "how many",
        "how much",
        "what percentage",
        "what percent",
        "what proportion",
        "statistics",
        "figures",
        "how big",
        "budget",
        "cuantos",
        "cuantas",
        "cuanto",
        "cuanta",
        "que porcentaje",
        "que proporcion",
        "estadisticas",
        "cifras",
        "presupuesto",
    ),
    "outcome": (
        "outcome",
        "outcomes",
        "result",
        "results",
        "what came out",
        "what was decided",
        "what was agreed",
        "what did it achieve",
        "resultado",
        "resultados",
        "que se acordo",
        "que se decidio",
        "que se logro",
    ),
}

_PATTERNS = {
    kind: re.compile(r"\b(?:" + "|".join(re.escape(cue) for cue in cues) + r")\b")
    for kind, cues in CUES.items()
}
_SPACES = re.compile(r"[^0-9a-z]+")


def asked_kinds(message: str) -> tuple[str, ...]:
    """The kinds of fact a message asks for, in KINDS order; empty when it asks for none."""
    folded = " ".join(_SPACES.split(fold(message))).strip()
    return tuple(kind for kind in KINDS if _PATTERNS[kind].search(folded))
