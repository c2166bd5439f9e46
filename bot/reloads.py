"""Reloading the knowledge base while the bot runs: one place for every way to ask.

/reload, a /review decision that adds a question, SIGHUP and the file watcher
all reload through `KnowledgeReloads`: the file is checked and swapped in by
`knowledge.reload.Reloader` (a file that does not load keeps the old
knowledge base), in a worker thread so that the event loop answers on; what
changed and the check's warnings are logged; and the menus and descriptions
are published again, since their texts live in the knowledge base too. One
reload runs at a time, swap to last menu, so the menus Telegram keeps are the
live knowledge base's. The watcher compares the file with what the last
reload read, whoever asked for it, so an edit /reload, /review or SIGHUP has
put live is not reloaded again. The handler that asked only renders the
outcome (`handlers.admin.describe_reload`).
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
    """Reloads one engine's knowledge base and publishes its menus (`handlers.services.Reloads`).

    One reload at a time, from the swap to the last menu: a second one waits
    for the first to finish. Two overlapping publishes could land out of order
    (Telegram slow on one call), leaving the menus of the older knowledge base
    while the newer one answers.
    """

    def __init__(self, reloader: Reloader, admins: frozenset[int]) -> None:
        self._reloader = reloader
        self._admins = admins
        self._one_at_a_time = asyncio.Lock()
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

    async def publish_menus(self, bot: Bot) -> None:
        """Publish the live knowledge base's menus (at start), in turn with any reload.

        A Telegram error is the caller's: at start, the bot should not run on
        without its menus.
        """
        async with self._one_at_a_time:
            await publish_menus(bot, self._reloader.engine, self._admins)

    async def reload(self, bot: Bot) -> ReloadOutcome:
        """Check and swap in a thread, log the outcome, publish the menus again."""
        async with self._one_at_a_time:
            outcome = await asyncio.to_thread(self._reloader.reload)
            await self._announce(outcome, bot)
        return outcome

    async def _reload_if_changed(self, bot: Bot) -> None:
        """The watcher's reload: none if the file is as the last reload, by anyone, read it."""
        async with self._one_at_a_time:
            outcome = await asyncio.to_thread(self._reloader.reload_if_changed)
            if outcome is not None:
                await self._announce(outcome, bot)

    async def _announce(self, outcome: ReloadOutcome, bot: Bot) -> None:
        """Log what a reload did and publish the menus of what is live now."""
        if not outcome.ok:
            log.warning(
                "knowledge base NOT reloaded, %d problem(s); the old one stays live",
                len(outcome.problems),
            )
            return
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

    def start(self, bot: Bot) -> None:
        """Reload in a task kept until it is done (SIGHUP: nobody awaits it).

        Its failure is logged here, since nobody else would see it.
        """
        task = asyncio.create_task(self.reload(bot), name="sighup-reload")
        self._started.add(task)
        task.add_done_callback(self._started.discard)
        task.add_done_callback(_log_failure)

    async def watch(self, bot: Bot, interval: float) -> None:
        """Reload whenever the file changes (`[knowledge] watch = true`), until cancelled.

        A change counts once the file has looked the same for one `interval`:
        an editor still writing it is not read half-written, and /review,
        which writes the file and then reloads it at once, has reloaded it
        (so it is not reloaded twice) by the time the watcher would.
        """
        looked = self._reloader.read_signature
        while True:
            await asyncio.sleep(interval)
            current = await asyncio.to_thread(self._reloader.signature)
            settled = current is not None and current == looked
            looked = current
            if not settled or current == self._reloader.read_signature:
                continue
            try:
                await self._reload_if_changed(bot)
            except Exception:  # keep watching: the next edit may fix it
                log.exception("reloading the changed knowledge base failed")

    def cancel(self) -> None:
        """Stop the background reloads still running (the bot is stopping)."""
        for task in self._started:
            task.cancel()


def _log_failure(task: asyncio.Task[ReloadOutcome]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the SIGHUP reload failed", exc_info=task.exception())
