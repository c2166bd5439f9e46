"""The last topic of each conversation, for follow-ups (see knowledge/context.py).

Per-user state lives here, with the callers, never in knowledge/.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from knowledge.answer import Answer


class RecentTopics:
    """The last topic answered for each conversation, bounded in number and in time.

    Kept in memory only: a restart forgets, as a person would after a pause.
    """

    def __init__(
        self, minutes: float, most: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seconds = minutes * 60.0
        self._most = most
        self._clock = clock
        self._topics: OrderedDict[object, tuple[str, float]] = OrderedDict()

    def get(self, key: object) -> str | None:
        """The topic of this conversation, or None if there is none or it is too old."""
        found = self._topics.get(key)
        if found is None:
            return None
        topic, at = found
        if self._clock() - at > self._seconds:
            del self._topics[key]
            return None
        return topic

    def set(self, key: object, topic: str | None) -> None:
        """Remember a topic (None forgets: `/start`, a new conversation)."""
        self._topics.pop(key, None)
        if topic is None:
            return
        self._topics[key] = (topic, self._clock())
        while len(self._topics) > self._most:
            self._topics.popitem(last=False)

    def answered(self, key: object, answer: Answer) -> None:
        """After a reply: its topic is the one to follow; a reply about nothing in
        particular ("did you mean", the fallback) keeps the topic there was."""
        self.set(key, answer.topic or self.get(key))

    def __len__(self) -> int:
        return len(self._topics)
