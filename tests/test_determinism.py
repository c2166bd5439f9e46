"""The same knowledge base and message give the same answer, whatever came before.

A reader must not get a confident answer in one process and "did you mean" in
another: nothing may depend on Python's hash seed (set and dict orders) or on
the questions the bot answered earlier (its remembered typo corrections).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

from knowledge.evaluation import read_labelled
from tests.auxil.knowledge_fixtures import DEV_SET, ROOT, bundled_engine

HOLDOUT_SET = ROOT / "tests" / "data" / "holdout.tsv"
HASH_SEEDS = ("0", "1", "3", "2006")


def with_typos(question: str, seed: int) -> str:
    """The question with a slip in each long word: a letter dropped or two swapped."""
    rng = random.Random(seed)
    typed = []
    for word in question.split():
        if len(word) >= 5:
            at = rng.randrange(1, len(word) - 2)
            word = (
                word[:at] + word[at + 1 :]
                if rng.random() < 0.5
                else (word[:at] + word[at + 1] + word[at] + word[at + 2 :])
            )
        typed.append(word)
    return " ".join(typed)


def questions() -> list[str]:
    knowledge = bundled_engine().knowledge
    ids = [entry.id for entry in knowledge.entries]
    asked = [item.question for path in (DEV_SET, HOLDOUT_SET) for item in read_labelled(path, ids)]
    stored = [q for entry in knowledge.entries for qs in entry.questions.values() for q in qs]
    asked += [with_typos(question, seed) for seed, question in enumerate(stored)]
    # Chat typos spend the matcher's typo searches and fill its memory.
    typos = ["how do they want to involve scientists who emigratd", "recomendasiones mujeres",
             "wen is the eclac meeting in montevido", "contcto de prensa porfavor",
             "qe dise sobre la trta de personas y los menores"]  # fmt: skip
    return asked + typos


def answers_in_a_process(asked: list[str], seed: str) -> dict[str, dict]:
    completed = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json"],
        input="\n".join(asked) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": seed},
        timeout=120,
        check=True,
    )
    replies = [json.loads(line) for line in completed.stdout.splitlines()]
    assert len(replies) == len(asked)
    return {reply["question"]: reply for reply in replies}


def test_every_process_gives_every_question_the_same_answer_in_any_order():
    asked = questions()
    first = answers_in_a_process(asked, HASH_SEEDS[0])
    for position, seed in enumerate(HASH_SEEDS[1:], 1):
        shuffled = asked[:]
        random.Random(position).shuffle(shuffled)
        again = answers_in_a_process(shuffled, seed)
        differing = [q for q in asked if again[q] != first[q]]
        assert differing == [], f"PYTHONHASHSEED={seed}, shuffled: {differing[:5]}"


def test_one_engine_answers_a_question_the_same_before_and_after_others():
    engine = bundled_engine()
    asked = questions()
    alone = {q: bundled_engine().ask(q) for q in asked[-5:]}
    for question in asked:
        engine.ask(question)
    assert {q: engine.ask(q) for q in asked[-5:]} == alone
