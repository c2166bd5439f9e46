"""Jittered exponential back-off: how long to wait before sending a failed request again.

The rate limiter (sends Telegram cannot have received) and the getUpdates
client (polls, which may always be asked again) both wait this way, each with
its own pauses.
"""

from __future__ import annotations

import random


class Backoff:
    """Pauses doubling from `first` to `longest` seconds, each jittered.

    Each pause is shortened at random by up to half, so that the requests a
    passing outage held up do not all come back at the same instant and meet
    the next fault together.
    """

    def __init__(self, first: float, longest: float) -> None:
        self.first = first
        self.longest = longest
        self._jitter = random.Random()

    def pause_before(self, attempt: int) -> float:
        """The pause before sending again after the `attempt`-th failure (1, 2, ...)."""
        ceiling = min(self.first * 2 ** (attempt - 1), self.longest)
        return self._jitter.uniform(ceiling / 2, ceiling)
