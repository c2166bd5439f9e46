"""Reloading the knowledge base while the bot runs: one place for every way to ask.

/reload, a /review decision that adds a question, SIGHUP and the file watcher
all reload through `KnowledgeReloads.reload`: the file is checked and swapped
in by `knowledge.reload.Reloader` (a file that does not load keeps the old
knowledge base), in a worker thread so that the event loop answers on; what
changed and the check's warnings are logged; and the menus and descriptions
are published again, since their texts live in the knowledge base too. The
handler that asked only renders the outcome (`handlers.admin.describe_reload`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import Bot
from telegram.error import TelegramError

from handlers.menus import publish_menus
from knowledge.reload import Reloader, ReloadOutcome

log = logging.getLogger(__name__)


class KnowledgeReloads:
    """Reloads one engine's knowledge base and publishes its menus (`handlers.services.Reloads`)."""

    def __init__(self, reloader: Reloader, admins: frozenset[int]) -> None:
        self._reloader = reloader
        self._admins = admins
        # Reloads started in the background (SIGHUP): the event loop holds its
        # tasks only weakly, and one nobody references can be collected mid-run.
        self._started: set[asyncio.Task[ReloadOutcome]] = set()

    @property
    def path(self) -> Path:
        """The knowledge base file reloads read (and /review writes questions into)."""
        return self._reloader.path

    @property
    def started(self) -> frozenset[asyncio.Task[ReloadOutcome]]:
        """The background reloads still running."""
        return frozenset(self._started)

    async def reload(self, bot: Bot) -> ReloadOutcome:
        """Check and swap in a thread, log the outcome, publish the menus again."""
        outcome = await asyncio.to_thread(self._reloader.reload)
        if not outcome.ok:
            log.warning(
                "knowledge base NOT reloaded, %d problem(s); the old one stays live",
                len(outcome.problems),
            )
            return outcome
        log.info(
            "knowledge base reloaded: %d entries, %d questions (+%d -%d ~%d)",
            outcome.entries,
            outcome.questions,
            len(outcome.added),
            len(outcome.removed),
            len(outcome.changed),
        )
        for warning in outcome.warnings:
            log.warning("knowledge base warning: %s", warning)
        try:
            await publish_menus(bot, self._reloader.engine, self._admins)
        except TelegramError as error:  # the answers are live; the menus can wait
            log.warning("the reloaded menus could not be published: %s", error)
        return outcome

    def start(self, bot: Bot) -> None:
        """Reload in a task kept until it is done (SIGHUP: nobody awaits it).

        Its failure is logged here, since nobody else would see it.
        """
        task = asyncio.create_task(self.reload(bot), name="sighup-reload")
        self._started.add(task)
        task.add_done_callback(self._started.discard)
        task.add_done_callback(_log_failure)

    async def watch(self, bot: Bot, interval: float) -> None:
        """Reload whenever the file changes (`[knowledge] watch = true`), until cancelled."""
        seen = self._reloader.signature()
        while True:
            await asyncio.sleep(interval)
            current = self._reloader.signature()
            if current is not None and current != seen:
                seen = current
                try:
                    await self.reload(bot)
                except Exception:  # keep watching: the next edit may fix it
                    log.exception("reloading the changed knowledge base failed")

    def cancel(self) -> None:
        """Stop the background reloads still running (the bot is stopping)."""
        for task in self._started:
            task.cancel()


def _log_failure(task: asyncio.Task[ReloadOutcome]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the SIGHUP reload failed", exc_info=task.exception())
