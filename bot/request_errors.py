"""What a failed Bot API request tells the retry logic: sent or not, answered or not.

python-telegram-bot's `BaseRequest` contract asks an HTTP client to fail
with `TimedOut` on a timeout and `NetworkError` on any other network
failure. That is not enough to decide whether sending again is safe: a
read timeout means Telegram got the message and may well have sent it,
a connect timeout means it never left. So the bot's client
(bot/aiohttp_request.py) raises these subclasses, still the errors
python-telegram-bot expects, and the rate limiter (bot/rate_limiter.py)
reads them, knowing nothing of the library underneath.

A failure that is none of these (a connection dropped without an answer,
a 5xx) is a plain `NetworkError`: Telegram most likely did not act on it.
"""

from __future__ import annotations

from telegram.error import NetworkError, TimedOut


class NeverSent(NetworkError):
    """Telegram cannot have received the request: sending it again is safe.

    The connection to Telegram (or to the proxy) was refused or could not
    be made, or the proxy would not open the way to Telegram.
    """


class NeverSentInTime(NeverSent, TimedOut):
    """Timed out before anything was sent: waiting for a free connection, or connecting.

    A `TimedOut`, as python-telegram-bot expects of a timeout, but unlike a
    read timeout it leaves nothing Telegram could have acted on.
    """


class AnswerCutShort(NetworkError):
    """Telegram's answer began and then broke off: Telegram acted, so sending again would repeat."""
