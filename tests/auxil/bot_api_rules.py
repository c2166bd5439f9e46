"""What the Bot API refuses, as plain functions the fake server calls.

Every function raises :class:`BotAPIError` carrying the description Telegram
sends.  Where Telegram's exact wording is known (from the Bot API server and
TDLib sources or from real responses) it is used verbatim; the few texts the
fake had to invent are listed in ``INVENTED_DESCRIPTIONS`` so nobody mistakes
them for Telegram's.

Limits are written out here rather than imported from python-telegram-bot:
the fake must not share the beliefs of the client it is testing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.auxil.telegram_html import (
    HTMLParseError,
    ParsedText,
    parse_html,
    strip_formatted,
    utf16_len,
)

MAX_MESSAGE_LENGTH = 4096  # sendMessage / editMessageText text, after entity parsing
MAX_CALLBACK_ANSWER_LENGTH = 200  # answerCallbackQuery text
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100
MAX_COPY_TEXT_LENGTH = 256
MAX_INLINE_RESULTS = 50
MAX_RESULT_ID_BYTES = 64
MAX_NEXT_OFFSET_BYTES = 64
MAX_COMMANDS = 100
MAX_COMMAND_LENGTH = 32
MAX_COMMAND_DESCRIPTION_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 512
MAX_SHORT_DESCRIPTION_LENGTH = 120
MAX_VCARD_BYTES = 2048

#: Descriptions the fake made up because Telegram's exact text is unknown, or
#: because the rule is stricter than Telegram (see the module docstrings).
INVENTED_DESCRIPTIONS = (
    "can't parse inline keyboard button: a button must have exactly one action field",
    "description is too long",
    "short description is too long",
    "vCard is too long",
    "can't parse InlineQueryResult: ...",
    'Character "&" must start an HTML entity ...',
    'Tag "a" must have a non-empty attribute "href" ...',
)

_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_COMMAND_RE = re.compile(r"[a-z0-9_]+")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
_START_PARAMETER_RE = re.compile(r"[A-Za-z0-9_-]+")

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)

INLINE_RESULT_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)

#: Parameters whose form value is JSON-encoded by clients (PTB json.dumps them).
JSON_PARAMETERS = frozenset(
    {
        "reply_markup",
        "results",
        "commands",
        "scope",
        "allowed_updates",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "button",
        "media",
    }
)


class BotAPIError(Exception):
    """A refusal: HTTP status, Telegram's description and optional ``parameters``.

    ``simulated`` marks failures the test asked for (fault injection, flood
    limits) or that only a vanished client can see, so ``FakeBotAPI.errors()``
    reports just the bot's own mistakes.
    """

    def __init__(
        self,
        description: str,
        status: int = 400,
        parameters: dict[str, Any] | None = None,
        *,
        simulated: bool = False,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.parameters = parameters
        self.simulated = simulated

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> BotAPIError:
    """A 400 with Telegram's "Bad Request: " prefix."""
    return BotAPIError(f"Bad Request: {reason}")


def decode_json_parameter(name: str, value: Any) -> Any:
    """Decode a JSON-encoded form field; Telegram refuses what does not parse."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise bad_request(f"can't parse {name} JSON object") from exc


def refuse_invalid_strings(value: Any) -> None:
    """Refuse strings that are not valid Unicode, as Telegram does.

    A JSON body can carry a lone surrogate ("\\ud83d"), which no UTF-8 text holds.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise bad_request("strings must be encoded in UTF-8") from None
    elif isinstance(value, dict):
        for item in value.values():
            refuse_invalid_strings(item)
    elif isinstance(value, list):
        for item in value:
            refuse_invalid_strings(item)


# -- text --------------------------------------------------------------------


def format_text(
    text: Any,
    parse_mode: Any,
    entities: Any = None,
    *,
    limit: int = MAX_MESSAGE_LENGTH,
    empty: str = "message text is empty",
    too_long: str = "message is too long",
    strict: bool = True,
) -> ParsedText:
    """Parse a message text as Telegram does and enforce its length rules.

    An empty ``text`` parameter is refused before parsing ("message text is
    empty"); text that is only whitespace once parsed and stripped is refused
    after it ("message must be non-empty").  The limit counts the visible text
    in UTF-16 code units, so ``&amp;`` counts as one character.
    """
    if text is None or text == "":
        raise bad_request(empty)
    if not isinstance(text, str):
        raise bad_request("text must be a string")
    mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
    if parse_mode not in (None, "") and not isinstance(parse_mode, str):
        raise bad_request("unsupported parse_mode")
    if mode == "html":
        try:
            parsed = parse_html(text, strict_ampersand=strict, require_href=strict)
        except HTMLParseError as exc:
            raise BotAPIError(exc.description) from exc
    elif mode in ("", "markdown", "markdownv2"):
        # Markdown is not validated by the fake; its length is counted raw.
        parsed = ParsedText(text, tuple(entities or ()) if mode == "" else ())
    else:
        raise bad_request("unsupported parse_mode")
    parsed = strip_formatted(parsed)
    if not parsed.text:
        raise bad_request("message must be non-empty")
    if utf16_len(parsed.text) > limit:
        raise bad_request(too_long)
    return parsed


def check_callback_answer_text(text: Any) -> None:
    """answerCallbackQuery: 0-200 characters."""
    if text is None:
        return
    if not isinstance(text, str):
        raise bad_request("text must be a string")
    if utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")


# -- reply markup ------------------------------------------------------------


def check_reply_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate ``reply_markup``; return the inline keyboard a Message echoes, if any.

    Telegram echoes only inline keyboards in ``Message.reply_markup``; an empty
    ``inline_keyboard`` means "no keyboard".  Edits and inline results accept
    inline keyboards only.
    """
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _check_inline_keyboard(markup["inline_keyboard"])
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])
    elif "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise bad_request('field "remove_keyboard" must be true')
    elif "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise bad_request('field "force_reply" must be true')
    else:
        raise bad_request('can\'t find field "inline_keyboard"')
    return None


def _check_inline_keyboard(rows: Any) -> dict[str, Any] | None:
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    count = 0
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for button in row:
            check_inline_button(button)
            count += 1
    if count > MAX_BUTTONS:
        raise bad_request("BUTTONS_TOO_MUCH")
    if count == 0:
        return None
    return {"inline_keyboard": rows}


def check_inline_button(button: Any) -> None:
    """One InlineKeyboardButton: non-empty text and exactly one valid action."""
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(prefix + "InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(prefix + 'Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(prefix + "a button must have exactly one action field")
    _check_button_action(actions[0], button[actions[0]])


def _check_button_action(action: str, value: Any) -> None:
    if action == "callback_data":
        if not isinstance(value, str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "callback_data" must be of type String'
            )
        if not 1 <= len(value.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    elif action == "url":
        if not isinstance(value, str) or not is_button_url(value):
            raise bad_request("BUTTON_URL_INVALID")
    elif action == "copy_text":
        copied = value.get("text") if isinstance(value, dict) else None
        if not isinstance(copied, str) or not 1 <= len(copied) <= MAX_COPY_TEXT_LENGTH:
            raise bad_request("COPY_TEXT_INVALID")
    elif action in ("web_app", "login_url"):
        url = value.get("url") if isinstance(value, dict) else None
        if not isinstance(url, str) or not url.startswith("https://"):
            raise bad_request("BUTTON_URL_INVALID")
    elif action in ("switch_inline_query", "switch_inline_query_current_chat"):
        if not isinstance(value, str):
            raise bad_request(
                f'can\'t parse inline keyboard button: Field "{action}" must be of type String'
            )
    elif action == "switch_inline_query_chosen_chat" and not isinstance(value, dict):
        raise bad_request(
            "can't parse inline keyboard button: Field "
            '"switch_inline_query_chosen_chat" must be of type Object'
        )


def is_button_url(url: str) -> bool:
    """http(s) URLs with a host, or tg:// links (stricter than Telegram, which adds http://)."""
    match = re.fullmatch(r"(?i)(https?)://([^/?#\s]+)[^\s]*", url)
    if match:
        return True
    return re.fullmatch(r"(?i)tg://[a-z_]+\S*", url) is not None


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            text = (
                button
                if isinstance(button, str)
                else (button.get("text") if isinstance(button, dict) else None)
            )
            if not isinstance(text, str) or not text.strip():
                raise bad_request("BUTTON_TEXT_INVALID")


# -- commands and descriptions ----------------------------------------------


def check_commands(commands: Any) -> list[dict[str, str]]:
    """setMyCommands: up to 100 of {command: [a-z0-9_]{1,32}, description: 1-256 chars}.

    Telegram accepts an empty list (it then behaves like deleteMyCommands).
    """
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > MAX_COMMANDS:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    checked = []
    for entry in commands:
        if not isinstance(entry, dict):
            raise bad_request("BotCommand must be an Object")
        command, description = entry.get("command"), entry.get("description")
        if not isinstance(command, str) or not command:
            raise bad_request("command must be non-empty")
        if len(command) > MAX_COMMAND_LENGTH:
            raise bad_request(f"command length must not exceed {MAX_COMMAND_LENGTH}")
        if not _COMMAND_RE.fullmatch(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not description.strip():
            raise bad_request("command description must be non-empty")
        if len(description) > MAX_COMMAND_DESCRIPTION_LENGTH:
            raise bad_request(
                f"command description length must not exceed {MAX_COMMAND_DESCRIPTION_LENGTH}"
            )
        checked.append({"command": command, "description": description})
    return checked


def check_language_code(code: Any) -> str:
    """Empty or a two-letter lowercase ISO 639-1 code."""
    if code is None or code == "":
        return ""
    if not isinstance(code, str) or not _LANGUAGE_RE.fullmatch(code):
        raise bad_request("invalid language code specified")
    return code


def check_description(text: Any, *, short: bool) -> str:
    """setMyDescription (0-512) / setMyShortDescription (0-120)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise bad_request("description must be a string")
    limit = MAX_SHORT_DESCRIPTION_LENGTH if short else MAX_DESCRIPTION_LENGTH
    if len(text) > limit:
        raise bad_request("short description is too long" if short else "description is too long")
    return text


def check_chat_action(action: Any) -> None:
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")


def check_vcard(vcard: Any) -> None:
    if vcard is None:
        return
    if not isinstance(vcard, str) or len(vcard.encode("utf-8")) > MAX_VCARD_BYTES:
        raise bad_request("vCard is too long")


# -- inline query results -----------------------------------------------------


def check_inline_results(results: Any, *, strict: bool = True) -> list[dict[str, Any]]:
    """answerInlineQuery's results: at most 50, unique 1-64 byte ids, valid contents."""
    if not isinstance(results, list):
        raise bad_request("can't parse JSON encoded inline query results")
    if len(results) > MAX_INLINE_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        _check_inline_result(result, strict=strict)
        if result["id"] in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result["id"])
    return results


def _check_inline_result(result: Any, *, strict: bool) -> None:
    prefix = "can't parse InlineQueryResult: "
    if not isinstance(result, dict):
        raise bad_request(prefix + "InlineQueryResult must be an Object")
    kind = result.get("type")
    if kind not in INLINE_RESULT_TYPES:
        raise bad_request(prefix + f'Unsupported type "{kind}" specified')
    result_id = result.get("id")
    if not isinstance(result_id, str) or not result_id:
        raise bad_request("RESULT_ID_EMPTY")
    if len(result_id.encode("utf-8")) > MAX_RESULT_ID_BYTES:
        raise bad_request("RESULT_ID_INVALID")
    check_reply_markup(result.get("reply_markup"), inline_only=True)
    if kind == "article":
        title = result.get("title")
        if not isinstance(title, str) or not title.strip():
            raise bad_request("ARTICLE_TITLE_EMPTY")
        if not isinstance(result.get("input_message_content"), dict):
            raise bad_request(prefix + 'Field "input_message_content" must be of type Object')
    if kind == "contact" and not (result.get("phone_number") and result.get("first_name")):
        raise bad_request(prefix + 'Fields "phone_number" and "first_name" are required')
    content = result.get("input_message_content")
    if content is not None:
        check_input_message_content(content, strict=strict)


def check_input_message_content(content: Any, *, strict: bool = True) -> None:
    """InputTextMessageContent is validated like sendMessage's text."""
    if not isinstance(content, dict):
        raise bad_request("can't parse InputMessageContent: must be an Object")
    if "message_text" in content:
        format_text(
            content.get("message_text"),
            content.get("parse_mode"),
            content.get("entities"),
            empty="MESSAGE_EMPTY",
            too_long="MESSAGE_TOO_LONG",
            strict=strict,
        )
    elif "phone_number" in content:
        if not content.get("phone_number") or not content.get("first_name"):
            raise bad_request("can't parse InputMessageContent: contact fields are required")
    elif not ({"latitude", "longitude"} <= content.keys()):
        raise bad_request("can't parse InputMessageContent: unsupported content")


def check_inline_button_parameter(button: Any) -> None:
    """answerInlineQuery's ``button``: text plus start_parameter or web_app."""
    if button is None:
        return
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse InlineQueryResultsButton")
    start = button.get("start_parameter")
    if start is not None and (
        not isinstance(start, str)
        or not 1 <= len(start) <= 64
        or not _START_PARAMETER_RE.fullmatch(start)
    ):
        raise bad_request("unallowed characters in start_parameter are used")
    if start is None and not isinstance(button.get("web_app"), dict):
        raise bad_request("can't parse InlineQueryResultsButton")


def check_next_offset(offset: Any) -> None:
    if offset is not None and len(str(offset).encode("utf-8")) > MAX_NEXT_OFFSET_BYTES:
        raise bad_request("NEXT_OFFSET_INVALID")
