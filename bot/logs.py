"""Logging that never shows the bot token.

The token is the bot's password, and it travels inside every Bot API URL, so
it can surface in an HTTP client's log line, an exception message or a
traceback. A filter on every handler replaces it before anything is written.
"""

from __future__ import annotations

import logging
import re
import sys

MASK = "<token>"


class TokenFilter(logging.Filter):
    """Replaces the token (and its secret half alone) in every record."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        secrets = [token] if token else []
        if token and ":" in token:
            secrets.append(token.split(":", 1)[1])  # the part after the bot id
        self._secrets = [s for s in secrets if len(s) >= 8]
        # Case-insensitive: python-telegram-bot capitalises error texts ("Bad Request: x..."
        # becomes "X...", the rest lower-cased), and a lower-cased token is still the token.
        self._pattern = (
            re.compile("|".join(map(re.escape, self._secrets)), re.IGNORECASE)
            if self._secrets
            else None
        )

    def mask(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        record.msg = self.mask(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, masked, so no handler formats the raw one.
            formatter = logging.Formatter()
            record.exc_text = self.mask(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(token_filter: TokenFilter, level: int = logging.INFO) -> None:
    """One line per event on stderr, token masked, HTTP chatter off."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(token_filter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
