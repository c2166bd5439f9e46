"""How fast does the matcher answer, and how does that scale with the knowledge base?

Run from the repository root:

    .venv/bin/python bench/bench_matcher.py            # full run, about 2-3 minutes
    .venv/bin/python bench/bench_matcher.py --quick    # smoke run, a few seconds

For three knowledge bases (the bundled one, and synthetic ones of 1,000 and
10,000 entries) it prints one table: the time to build the `Matcher`, the
peak RSS, and the latency (p50, p99, mean, in milliseconds) of
`Matcher.rank`, of `Engine.ask` (which adds language detection and the
answer) and of a naive baseline, a Python loop that calls
`rapidfuzz.fuzz.token_set_ratio` once per stored question and keeps the best.
Then it checks the targets: p99 of `Matcher.rank` under 5 ms at 1,000
entries, and at least 5x faster than the naive loop at 10,000 entries.

The synthetic knowledge bases are real `KnowledgeBase` objects. Each entry is
a variant of a bundled entry: every content word of the template is either
kept (so domain words like "migration" stay common, with long posting lists)
or replaced, consistently across the entry's questions, keywords, title and
answer, by a generated word drawn from a Zipf-distributed vocabulary, and two
entry-specific "names" are woven into its questions and keywords. Vocabulary
and document frequencies grow with the size, as they would in a real,
bigger FAQ. Everything is seeded (`random.Random(42)`), so two runs compare.

The queries are a fixed, seeded mix drawn from the knowledge base under test:
stored questions with typos, paraphrases, one-word queries, long rambling
messages of about 40 words, and out-of-scope sentences.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import math
import os
import random
import re
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Runnable as `python bench/bench_matcher.py` from anywhere in the repository.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz

from knowledge.check import check_file
from knowledge.engine import Engine, Loaded
from knowledge.language import LanguageDetector
from knowledge.loader import bundled_path
from knowledge.matcher import Matcher
from knowledge.normalise import STOP_WORDS, content_words, fold, stem
from knowledge.schema import LANGUAGES, Entry, KnowledgeBase, Language, Localized

SEED = 42
SYNTHETIC_SIZES = (1_000, 10_000)

# Targets.
P99_LIMIT_MS = 5.0  # p99 of Matcher.rank at 1,000 entries
P99_LIMIT_SIZE = 1_000
SPEEDUP_MIN = 5.0  # naive / ours, at 10,000 entries
SPEEDUP_SIZE = 10_000

# Share of a template's content words an entry keeps as they are.
KEEP_SHARE = 0.35
# Zipf-Mandelbrot weights 1 / (rank + ZIPF_OFFSET) ** ZIPF_EXPONENT over the generated words.
ZIPF_EXPONENT = 1.0
ZIPF_OFFSET = 3.0

# The query mix: kind -> share.
QUERY_MIX = {
    "typo": 0.30,
    "paraphrase": 0.20,
    "one-word": 0.15,
    "rambling": 0.15,
    "out-of-scope": 0.20,
}

WORD = re.compile(r"\w+")


# Generated vocabulary ---------------------------------------------------------

_ONSETS = "b c d f g l m n p r s t v br cr dr fl gr pl pr tr ch".split()
_VOWELS = "a e i o u a e o ia io ue".split()
_ENDINGS = {
    "en": "tion ment ing er ity al ure ance ist ery ship hood ive".split(),
    "es": "cion miento dad ado ero ista aje ura ncia ivo ano ente".split(),
}
_NAME_ENDINGS = "ville ia ara ez ston burgo grad ay ina or".split()


def _is_usable(word: str, taken: set[str]) -> bool:
    """A word the normaliser keeps as it is, not a stop word, not seen before."""
    return (
        word not in taken and word not in STOP_WORDS and stem(word, "en") == word and len(word) >= 4
    )


def generate_words(rng: random.Random, count: int, endings: Sequence[str], taken: set[str]):
    """`count` distinct pseudo-words of 4 to 14 letters, in a seeded order."""
    result: list[str] = []
    while len(result) < count:
        syllables = rng.choice((1, 2, 2, 3, 3, 4))
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
        if rng.random() < 0.6:
            word += rng.choice(endings)
        word = word[:14]
        if _is_usable(word, taken):
            taken.add(word)
            result.append(word)
    return result


class Zipf:
    """Draws words with Zipf-Mandelbrot frequencies: a few very common, a long tail."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        weights = [1.0 / (rank + ZIPF_OFFSET) ** ZIPF_EXPONENT for rank in range(len(words))]
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> str:
        point = rng.random() * self.cumulative[-1]
        return self.words[bisect.bisect_right(self.cumulative, point)]


# Synthetic knowledge bases --------------------------------------------------------


def _key(word: str) -> str:
    return stem(fold(word), "en")


def _is_content(word: str) -> bool:
    folded = fold(word)
    return folded not in STOP_WORDS and not folded.isdigit() and len(folded) > 2


class _Variant:
    """Rewrites one template entry's texts with one consistent word mapping."""

    def __init__(self, rng: random.Random, pools: dict[str, Zipf], names: tuple[str, str]):
        self.rng = rng
        self.pools = pools
        self.names = names
        self.mapping: dict[tuple[str, str], str] = {}

    def word(self, lang: str, word: str) -> str:
        if not _is_content(word):
            return word
        key = (lang, _key(word))
        replacement = self.mapping.get(key)
        if replacement is None:
            keep = self.rng.random() < KEEP_SHARE
            replacement = word.lower() if keep else self.pools[lang].draw(self.rng)
            self.mapping[key] = replacement
        return replacement.capitalize() if word[:1].isupper() else replacement

    def text(self, lang: str, text: str) -> str:
        return WORD.sub(lambda match: self.word(lang, match.group()), text)

    def question(self, lang: str, text: str) -> str:
        rewritten = self.text(lang, text)
        if self.rng.random() < 0.6:
            # Name the entry's own subject, as real questions do ("forum in Puebla").
            spots = [m for m in WORD.finditer(rewritten) if _is_content(m.group())]
            name = self.rng.choice(self.names)
            if spots:
                spot = self.rng.choice(spots)
                rewritten = rewritten[: spot.start()] + name + rewritten[spot.end() :]
            else:
                rewritten = f"{rewritten} {name}"
        return rewritten


def synthetic_knowledge(bundled: KnowledgeBase, size: int, seed: int = SEED) -> KnowledgeBase:
    """A knowledge base of `size` entries: the bundled ones, then variants of them."""
    rng = random.Random(seed)
    taken = {_key(word) for entry in bundled.entries for word in _texts_words(entry)}
    # Heaps' law: the vocabulary of a bigger FAQ grows, sub-linearly.
    pool_size = int(40 * size**0.75)
    pools = {
        lang: Zipf(generate_words(rng, pool_size, _ENDINGS[lang], taken)) for lang in LANGUAGES
    }
    names = generate_words(rng, max(size // 2, 10), _NAME_ENDINGS, taken)

    entries: list[Entry] = list(bundled.entries)
    templates = bundled.entries
    for index in range(len(entries), size):
        template = templates[index % len(templates)]
        variant = _Variant(rng, pools, (rng.choice(names), rng.choice(names)))
        questions: dict[Language, tuple[str, ...]] = {}
        keywords: dict[Language, tuple[str, ...]] = {}
        for lang in LANGUAGES:
            questions[lang] = tuple(variant.question(lang, q) for q in template.questions[lang])
            own = [variant.text(lang, k) for k in template.keywords.get(lang, ())[:4]]
            keywords[lang] = tuple(dict.fromkeys([*own, *variant.names]))
        entries.append(
            Entry(
                id=f"{template.id[:30]}-{index}",
                topic=template.topic,
                title=Localized(
                    variant.text("en", template.title.en), variant.text("es", template.title.es)
                ),
                questions=questions,
                keywords=keywords,
                answer=Localized(
                    variant.text("en", template.answer.en), variant.text("es", template.answer.es)
                ),
                related=template.related,
                source=template.source,
            )
        )
    return KnowledgeBase(
        entries=tuple(entries),
        topics=bundled.topics,
        texts=bundled.texts,
        contact=bundled.contact,
        source_path=f"<synthetic {size}>",
    )


def _texts_words(entry: Entry) -> list[str]:
    texts = [entry.title.en, entry.title.es, entry.answer.en, entry.answer.es]
    for lang in LANGUAGES:
        texts += [*entry.questions[lang], *entry.keywords.get(lang, ())]
    return [word for text in texts for word in WORD.findall(text)]


def vocabulary_size(knowledge: KnowledgeBase, matcher: Matcher | None = None) -> int:
    """Distinct content tokens of questions, keywords, titles and answers (the matcher's)."""
    postings = getattr(matcher, "_postings", None)  # a private peek, to save seconds at 10k
    if isinstance(postings, dict):
        return len(postings)
    vocabulary: set[str] = set()
    for entry in knowledge.entries:
        for lang in LANGUAGES:
            for text in (
                *entry.questions[lang],
                *entry.keywords.get(lang, ()),
                entry.title(lang),
                entry.answer(lang),
            ):
                vocabulary.update(content_words(text))
    return len(vocabulary)


# Queries ----------------------------------------------------------------------------

_PREFIXES = {
    "en": [
        "hi, quick question:",
        "hello! can you tell me",
        "hey bot,",
        "I was wondering",
        "please tell me",
        "sorry to bother you but",
        "",
        "",
    ],
    "es": [
        "hola, una pregunta:",
        "buenas, quisiera saber",
        "oye,",
        "me podrías decir",
        "por favor dime",
        "disculpa la molestia pero",
        "",
        "",
    ],
}
_SUFFIXES = {
    "en": ["?", " thanks!", " pls", "", "??"],
    "es": ["?", " gracias!", " porfa", "", "??"],
}
_FILLER = {
    "en": (
        "so I am a journalist working on a story for tomorrow and my editor asked me to "
        "check a few things quickly before we publish it because we are not sure about "
        "some details and honestly I could not find it anywhere online so"
    ).split(),
    "es": (
        "bueno soy periodista y estoy escribiendo una nota para mañana y mi editor me "
        "pidió revisar unas cosas rápido antes de publicarla porque no estamos seguros "
        "de algunos detalles y la verdad no lo encontré en ninguna parte así que"
    ).split(),
}
_OUT_OF_SCOPE = [
    "what's the weather like in Paris tomorrow",
    "how do I renew my passport online",
    "visa for chile",
    "best pizza recipe with mozzarella",
    "who won the football match yesterday",
    "bitcoin price today",
    "can you book me a flight to Madrid",
    "recommend a good laptop for programming",
    "what time does the supermarket close",
    "translate this sentence into French please",
    "¿qué tiempo hará mañana en Santiago?",
    "receta de empanadas de pino",
    "¿quién ganó el partido de ayer?",
    "necesito renovar mi licencia de conducir",
    "¿cuánto cuesta un pasaje a Lima?",
    "horario del banco los sábados",
    "quiero comprar zapatillas baratas",
    "¿cómo instalo impresora en windows?",
]
_OFF_TOPIC_WORDS = (
    "weather pizza football bitcoin laptop passport supermarket printer guitar "
    "vacation hotel restaurant insurance mortgage smartphone zapatillas impresora "
    "cumpleaños receta partido vacaciones hipoteca celular playa montaña"
).split()


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    position = rng.randrange(1, len(word) - 1)
    letter = rng.choice("abcdefghilmnoprstu")
    match rng.randrange(4):
        case 0:  # dropped letter
            return word[:position] + word[position + 1 :]
        case 1:  # extra letter
            return word[:position] + letter + word[position:]
        case 2:  # wrong letter
            return word[:position] + letter + word[position + 1 :]
        case _:  # swapped letters
            return word[:position] + word[position + 1] + word[position] + word[position + 2 :]


def _with_typos(rng: random.Random, text: str, count: int) -> str:
    spots = [m for m in WORD.finditer(text) if len(m.group()) >= 4]
    for spot in sorted(rng.sample(spots, min(count, len(spots))), key=lambda m: -m.start()):
        text = text[: spot.start()] + _typo(rng, spot.group()) + text[spot.end() :]
    return text


def _content_words(text: str) -> list[str]:
    return [word for word in WORD.findall(text) if _is_content(word)]


def make_queries(knowledge: KnowledgeBase, count: int, seed: int = SEED) -> list[tuple[str, str]]:
    """`count` (kind, message) pairs in the fixed mix, seeded."""
    rng = random.Random(seed)
    kinds = list(QUERY_MIX)
    shares = list(QUERY_MIX.values())
    entries = knowledge.entries
    queries = []
    for _ in range(count):
        kind = rng.choices(kinds, shares)[0]
        entry = rng.choice(entries)
        lang: Language = rng.choice(LANGUAGES)
        question = rng.choice(entry.questions[lang])
        if kind == "typo":
            message = _with_typos(rng, question, rng.choice((1, 1, 2)))
        elif kind == "paraphrase":
            words = question.rstrip("?¿!").lstrip("¿").split()
            content = [i for i, word in enumerate(words) if _is_content(word)]
            keywords = entry.keywords.get(lang, ())
            if content and keywords and rng.random() < 0.5:
                words[rng.choice(content)] = rng.choice(keywords)
            elif len(content) > 1:
                del words[rng.choice(content)]
            if rng.random() < 0.3:
                rng.shuffle(words)
            prefix = rng.choice(_PREFIXES[lang])
            message = f"{prefix} {' '.join(words)}{rng.choice(_SUFFIXES[lang])}".strip()
        elif kind == "one-word":
            pool = [k for k in entry.keywords.get(lang, ()) if " " not in k]
            pool = pool or _content_words(question) or [question]
            message = rng.choice(pool)
            if rng.random() < 0.25:
                message = _typo(rng, message)
        elif kind == "rambling":
            filler = list(_FILLER[lang])
            content = _content_words(question)
            words = filler[: 40 - len(content) - 2]
            for word in (*content, rng.choice(_OFF_TOPIC_WORDS), rng.choice(_OFF_TOPIC_WORDS)):
                words.insert(rng.randrange(len(words) + 1), word)
            message = _with_typos(rng, " ".join(words), 1) + rng.choice(_SUFFIXES[lang])
        else:
            if rng.random() < 0.6:
                message = rng.choice(_OUT_OF_SCOPE)
            else:
                prefix = rng.choice(_PREFIXES[lang])
                message = f"{prefix} {' '.join(rng.sample(_OFF_TOPIC_WORDS, 3))}".strip()
        queries.append((kind, message))
    return queries


# The naive baseline -------------------------------------------------------------------


def naive_corpus(knowledge: KnowledgeBase) -> list[str]:
    """Every stored question of every entry, normalised the way the matcher normalises."""
    return [
        " ".join(content_words(question))
        for entry in knowledge.entries
        for lang in LANGUAGES
        for question in entry.questions[lang]
    ]


def naive_best(message: str, corpus: list[str]) -> tuple[int, float]:
    """The naive loop: rapidfuzz once per stored question, in Python; keep the best."""
    query = " ".join(content_words(message))
    best, best_index = -1.0, -1
    for index, stored in enumerate(corpus):
        score = fuzz.token_set_ratio(query, stored)
        if score > best:
            best, best_index = score, index
    return best_index, best


# Measuring ------------------------------------------------------------------------------


def _percentile(ordered: list[int], p: float) -> float:
    """Nearest-rank percentile of sorted nanoseconds, in milliseconds."""
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)] / 1e6


@dataclass(frozen=True)
class Latency:
    """Wall-clock latency (perf_counter_ns), and the p99 of the thread's CPU time.

    On a shared machine a call can wait for a CPU; the wall clock counts that
    wait, the CPU time does not. When the two p99 differ a lot, the machine was busy.
    """

    n: int
    p50: float
    p99: float
    mean: float
    max: float
    cpu_p99: float

    @classmethod
    def of(cls, wall_ns: list[int], cpu_ns: list[int]) -> Latency:
        wall, cpu = sorted(wall_ns), sorted(cpu_ns)
        mean = sum(wall) / len(wall) / 1e6
        return cls(
            len(wall),
            _percentile(wall, 50),
            _percentile(wall, 99),
            mean,
            wall[-1] / 1e6,
            _percentile(cpu, 99),
        )


def time_calls(
    function: Callable[[str], object], messages: Sequence[str]
) -> tuple[list[int], list[int]]:
    """Wall-clock and CPU nanoseconds of one call per message."""
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    wall, cpu = [], []
    for message in messages:
        cpu_start = cpu_clock()
        start = clock()
        function(message)
        wall.append(clock() - start)
        cpu.append(cpu_clock() - cpu_start)
    return wall, cpu


def rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class Row:
    name: str
    entries: int
    questions: int
    vocabulary: int
    build_ms: float
    rss_mb: float
    rank: Latency
    ask: Latency
    naive: Latency
    by_kind: dict[str, Latency]


@dataclass(frozen=True)
class Counts:
    """How many queries each measure times at one size (after `warmup` untimed ones)."""

    rank: int
    ask: int
    naive: int
    warmup: int


def measure(name: str, knowledge: KnowledgeBase, counts: Counts) -> Row:
    gc.collect()
    start = time.perf_counter_ns()
    matcher = Matcher(knowledge)
    build_ms = (time.perf_counter_ns() - start) / 1e6
    detector = LanguageDetector(matcher.language_words["en"], matcher.language_words["es"])
    engine = Engine(Loaded(knowledge, matcher, detector))
    corpus = naive_corpus(knowledge)
    rss = rss_mb()

    mix = make_queries(knowledge, counts.warmup + counts.rank)
    warm, timed = mix[: counts.warmup], mix[counts.warmup :]
    messages = [message for _, message in timed]
    for _, message in warm:
        matcher.rank(message)
        engine.ask(message)
    for _, message in warm[: max(counts.naive // 10, 3)]:
        naive_best(message, corpus)

    def spread(count: int) -> list[str]:
        """An evenly spread subset of the timed messages: the same mix, fewer of them."""
        step = max(len(messages) // count, 1)
        return messages[::step][:count]

    gc.collect()
    rank_ns = time_calls(matcher.rank, messages)
    ask_ns = time_calls(engine.ask, spread(counts.ask))
    naive_ns = time_calls(lambda message: naive_best(message, corpus), spread(counts.naive))

    def of_kind(kind: str) -> Latency:
        picked = [i for i, (k, _) in enumerate(timed) if k == kind]
        return Latency.of([rank_ns[0][i] for i in picked], [rank_ns[1][i] for i in picked])

    by_kind = {kind: of_kind(kind) for kind in QUERY_MIX}
    return Row(
        name=name,
        entries=len(knowledge.entries),
        questions=knowledge.question_count,
        vocabulary=vocabulary_size(knowledge, matcher),
        build_ms=build_ms,
        rss_mb=rss,
        rank=Latency.of(*rank_ns),
        ask=Latency.of(*ask_ns),
        naive=Latency.of(*naive_ns),
        by_kind=by_kind,
    )


# Reporting ---------------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'knowledge base':<15}{'entries':>8}{'questions':>10}{'vocab':>8}{'build ms':>10}"
        f"{'RSS MB':>8}  {'measure':<18}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
        f"{'max ms':>9}{'cpu p99':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        left = (
            f"{row.name:<15}{row.entries:>8,}{row.questions:>10,}{row.vocabulary:>8,}"
            f"{row.build_ms:>10.1f}{row.rss_mb:>8.0f}  "
        )
        blank = " " * len(left)
        lines = [("Matcher.rank", row.rank), ("Engine.ask", row.ask), ("naive loop", row.naive)]
        for position, (label, latency) in enumerate(lines):
            print(
                f"{left if position == 0 else blank}{label:<18}{latency.n:>6}"
                f"{latency.p50:>9.3f}{latency.p99:>9.3f}{latency.mean:>9.3f}{latency.max:>9.3f}"
                f"{latency.cpu_p99:>9.3f}"
            )
        p50_ratio = row.naive.p50 / row.rank.p50
        p99_ratio = row.naive.p99 / row.rank.p99
        print(f"{blank}{'naive / ours':<18}{'':>6}{p50_ratio:>8.1f}x{p99_ratio:>8.1f}x")
    print()


def print_by_kind(rows: list[Row]) -> None:
    print("Matcher.rank by query kind (p50 / p99 / max, ms)")
    print(f"{'knowledge base':<15}" + "".join(f"{kind:>24}" for kind in QUERY_MIX))
    for row in rows:
        cells = "".join(
            f"{f'{lat.p50:.2f} / {lat.p99:.2f} / {lat.max:.1f}':>24}"
            for lat in (row.by_kind[kind] for kind in QUERY_MIX)
        )
        print(f"{row.name:<15}{cells}")
    print()


def check_targets(rows: list[Row]) -> bool:
    by_size = {row.entries: row for row in rows if row.name.startswith("synthetic")}
    passed = True
    print("Targets")
    small = by_size.get(P99_LIMIT_SIZE)
    if small is not None:
        ok = small.rank.p99 < P99_LIMIT_MS
        passed &= ok
        print(
            f"  {'PASS' if ok else 'FAIL'}  p99 of Matcher.rank at {P99_LIMIT_SIZE:,} entries "
            f"< {P99_LIMIT_MS:g} ms: {small.rank.p99:.3f} ms "
            f"(CPU time p99 {small.rank.cpu_p99:.3f} ms)"
        )
    large = by_size.get(SPEEDUP_SIZE)
    if large is not None:
        for label, naive, ours in (
            ("p50", large.naive.p50, large.rank.p50),
            ("p99", large.naive.p99, large.rank.p99),
        ):
            ratio = naive / ours
            ok = ratio >= SPEEDUP_MIN
            passed &= ok
            print(
                f"  {'PASS' if ok else 'FAIL'}  Matcher.rank at least {SPEEDUP_MIN:g}x faster than "
                f"the naive loop at {SPEEDUP_SIZE:,} entries, {label}: {naive:.1f} ms / "
                f"{ours:.1f} ms = {ratio:.1f}x"
            )
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few queries: a smoke run")
    parser.add_argument(
        "--by-kind", action="store_true", help="also print Matcher.rank latency per query kind"
    )
    args = parser.parse_args(argv)

    # Matcher.rank is timed on 2,000 messages at every size; Engine.ask and the
    # naive loop (about 1 µs per stored question) on evenly spread subsets at the
    # big sizes, to keep the whole run under about three minutes on two cores.
    if args.quick:
        counts = {0: Counts(200, 200, 40, 20), 1_000: Counts(200, 100, 20, 20)}
        counts[10_000] = Counts(200, 50, 10, 10)
    else:
        counts = {0: Counts(2_000, 2_000, 2_000, 200), 1_000: Counts(2_000, 2_000, 400, 200)}
        counts[10_000] = Counts(2_000, 800, 100, 100)

    started = time.perf_counter()
    checked = check_file(bundled_path())
    if checked.loaded is None:
        for problem in checked.problems:
            print(problem, file=sys.stderr)
        return 2
    bundled = checked.loaded.knowledge
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"faqbot matcher benchmark{' (quick)' if args.quick else ''}: seed {SEED}, "
        f"{os.cpu_count()} CPUs, load average {load} (other work on the machine skews p99)"
    )
    print(
        "query mix: " + ", ".join(f"{kind} {share:.0%}" for kind, share in QUERY_MIX.items()) + "\n"
    )

    rows = [measure("bundled", bundled, counts[0])]
    for size in SYNTHETIC_SIZES:
        knowledge = synthetic_knowledge(bundled, size)
        rows.append(measure(f"synthetic {size // 1000}k", knowledge, counts[size]))
        del knowledge
    print_table(rows)
    if args.by_kind:
        print_by_kind(rows)
    passed = check_targets(rows)
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")
    if args.quick:
        print("(quick run: too few queries to judge the targets; the exit code ignores them)")
        return 0
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
