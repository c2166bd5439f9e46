"""How updates share the bot's working slots: in order within a chat, fair across chats."""

from __future__ import annotations

import asyncio
import datetime

from telegram import Chat, Message, Update

from bot.app import PerChatUpdateProcessor

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def update_from(chat_id: int, update_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, NOW, chat, text="hi"))


async def test_a_burst_from_one_person_does_not_hold_up_another_person():
    processor = PerChatUpdateProcessor(concurrent_updates=2)
    finished: list[tuple[int, int]] = []

    async def handle(chat_id: int, update_id: int, seconds: float) -> None:
        await asyncio.sleep(seconds)
        finished.append((chat_id, update_id))

    burst = [
        asyncio.create_task(processor.process_update(update_from(1, n), handle(1, n, 0.05)))
        for n in range(20)
    ]
    await asyncio.sleep(0)  # the burst is queued first, as when it arrives first
    other = asyncio.create_task(processor.process_update(update_from(2, 100), handle(2, 100, 0.0)))
    await asyncio.gather(*burst, other)

    # The other person is served after at most the update already running,
    # not after the whole burst.
    assert finished.index((2, 100)) <= 1
    # The burst itself is answered in the order it was sent.
    assert [n for chat, n in finished if chat == 1] == list(range(20))
    assert processor.tracked_chats == 0


async def test_no_more_updates_run_at_once_than_the_configured_slots():
    processor = PerChatUpdateProcessor(concurrent_updates=3)
    running = peak = 0

    async def handle() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    await asyncio.gather(
        *(processor.process_update(update_from(chat, chat), handle()) for chat in range(1, 13))
    )

    assert peak == 3
