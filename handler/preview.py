"""Local preview helpers: a loopback webhook and Slack Web API that capture posts, and a terminal view.

These let ``python -m handler`` and ``make demo`` run the Lambda's own pipeline, delivery
included, with no Slack workspace: the payload is posted over HTTP to 127.0.0.1 and printed.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote

from handler.errors import UnprocessableEvent

BLOCK_KIT_BUILDER = "https://app.slack.com/block-kit-builder#"
MAX_LINK_LENGTH = 8_000


@contextmanager
def capture_webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Serve a webhook on 127.0.0.1 that answers ``ok``; yield its URL and the payloads received."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return

    with _serving(Handler) as base:
        yield f"{base}/services/preview", received


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 in a daemon thread (listening before this yields); yield
    ``http://127.0.0.1:<port>``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class ApiCall:
    """One Slack Web API call the stand-in received."""

    method: str
    arguments: dict[str, Any]
    ts: str


@contextmanager
def capture_slack_api() -> Iterator[tuple[str, list[ApiCall]]]:
    """Serve the three Slack Web API methods app mode uses on 127.0.0.1; yield the base URL and calls.

    ``chat.postMessage`` answers with a new ``ts`` each time, ``chat.update`` with the ``ts`` it
    was given, ``conversations.open`` with a direct-message channel; nothing is checked beyond
    that (the tests' stand-in, tests/standins/slack_web_api.py, scripts errors and rate limits).
    """
    calls: list[ApiCall] = []
    counter = iter(range(1, 1_000_000))

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                arguments = json.loads(body or "{}")
            else:
                arguments = {key: values[0] for key, values in parse_qs(body).items()}
            method = self.path.rstrip("/").rsplit("/", 1)[-1]
            ts = str(arguments.get("ts") or f"1700000000.{next(counter):06d}")
            calls.append(ApiCall(method, arguments, ts))
            answer: dict[str, Any] = {"ok": True, "channel": arguments.get("channel", ""), "ts": ts}
            if method == "conversations.open":
                answer = {"ok": True, "channel": {"id": "D0" + str(arguments.get("users", "X"))[1:]}}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    with _serving(Handler) as base:
        yield f"{base}/api/", calls


def block_kit_builder_url(payload: dict[str, Any]) -> str | None:
    """A link that opens the message in Slack's Block Kit Builder, when it is short enough."""
    message = {key: payload[key] for key in ("text", "attachments") if key in payload}
    url = BLOCK_KIT_BUILDER + quote(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
    return url if len(url) <= MAX_LINK_LENGTH else None


def describe(payload: dict[str, Any], *, color: bool = False, truecolor: bool = True) -> str:
    """A terminal rendering of a payload, showing its text the way Slack displays it.

    Entities are unescaped and links show their label (``Ana Núñez <ana@…>``, not ``&lt;ana…&gt;``).
    With ``color``, each attachment's bar is drawn in its colour (24-bit when ``truecolor``, else
    the nearest of the 256 standard colours) and ``*bold*``, ``_italic_``, ``~strike~`` and
    ``code`` are styled with ANSI escapes; without it the markers stay, so emphasis survives in
    plain text and logs.
    """
    show = _Display(color)
    lines = [show.mrkdwn(str(payload.get("text", "")))]
    lines.extend(show.blocks(payload.get("blocks", [])))
    for attachment in payload.get("attachments", []):
        bar = _bar(str(attachment.get("color", "#999999")), truecolor) if color else "┃"
        body: list[str] = []
        for key in ("pretext", "author_name", "title"):
            if attachment.get(key):
                body.extend(show.mrkdwn(str(attachment[key])).splitlines())
        if attachment.get("title_link"):
            body.append(show.dim(f"  ↳ {attachment['title_link']}"))
        body.extend(show.mrkdwn(str(attachment.get("text", ""))).splitlines())
        for entry in attachment.get("fields", []):
            value = show.mrkdwn(str(entry.get("value", ""))).replace("\n", " · ")
            body.append(f"{show.bold(str(entry.get('title', '')))}: {value}")
        body.extend(show.blocks(attachment.get("blocks", [])))
        if attachment.get("footer"):
            body.append(show.dim(show.mrkdwn(str(attachment["footer"]))))
        lines.append("")
        lines.extend(f"{bar} {line}" for line in body)
    return "\n".join(lines)


_ESC = "\x1b["
_RESET = _ESC + "0m"
#: Slack's formatting in text fields, innermost first: code spans keep their content literal.
_MRKDWN = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|<(?P<target>[^<>|\n]+)(?:\|(?P<label>[^<>\n]*))?>"
    r"|(?<![\w*])\*(?P<bold>[^*\n]+?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>[^_\n]+?)_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>[^~\n]+?)~(?![\w~])"
)
_SPECIAL_MENTIONS = {"!channel": "@channel", "!here": "@here", "!everyone": "@everyone"}


class _Display:
    """Turns Slack mrkdwn into terminal text, with ANSI styles when ``color`` is on."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def _style(self, code: str, text: str, plain: str) -> str:
        return f"{_ESC}{code}m{text}{_RESET}" if self.color else plain

    def bold(self, text: str) -> str:
        return self._style("1", text, text)

    def dim(self, text: str) -> str:
        return self._style("2", text, text)

    def mrkdwn(self, text: str) -> str:
        """Display ``text`` as Slack would: links by label, entities unescaped, emphasis styled."""
        out: list[str] = []
        position = 0
        for match in _MRKDWN.finditer(text):
            out.append(_unescape(text[position : match.start()]))
            out.append(self._token(match))
            position = match.end()
        out.append(_unescape(text[position:]))
        return "".join(out)

    def _token(self, match: re.Match[str]) -> str:
        if match["code"] is not None:
            code = _unescape(match["code"])
            return self._style("36", code, f"`{code}`")
        if match["target"] is not None:
            return self._link(match["target"], match["label"])
        for group, ansi, marker in (("bold", "1", "*"), ("italic", "3", "_"), ("strike", "9", "~")):
            if match[group] is not None:
                inner = self.mrkdwn(match[group])
                return self._style(ansi, inner, f"{marker}{inner}{marker}")
        return match[0]

    def _link(self, target: str, label: str | None) -> str:
        """``<url|label>`` shows the label (the url dimmed after it); mentions show their name."""
        shown = _unescape(label) if label else None
        if target.startswith("!"):
            name = target.split("^", 1)[0]
            return shown or _SPECIAL_MENTIONS.get(name, "@" + name[1:])
        if target[:1] in "@#":
            return shown or target
        url = _unescape(target)
        if not shown or shown == url:
            return self._style("4", url, url)
        return self._style("4", shown, shown) + " " + self._style("2", url, f"({url})")

    def blocks(self, blocks: Any) -> list[str]:
        """The text of Block Kit blocks, one or more lines each."""
        lines: list[str] = []
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, dict):
                continue
            texts = [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]
            for item in texts:
                if isinstance(item, dict) and isinstance(item.get("text"), str):
                    rendered = item["text"] if item.get("type") == "plain_text" else self.mrkdwn(item["text"])
                    lines.extend(
                        self.bold(line) if block.get("type") == "header" else line
                        for line in rendered.splitlines()
                    )
            if block.get("type") == "divider":
                lines.append(self.dim("─" * 20))
        return lines


def _unescape(text: str) -> str:
    """Slack's three entities, ``&amp;`` last so ``&amp;lt;`` stays ``&lt;`` as Slack shows it; the
    emoji names the renderers use are shown as the emoji Slack would draw."""
    text = _EMOJI_NAME.sub(lambda match: EMOJI.get(match.group(1), match.group(0)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


#: The emoji names the renderers write, as Slack draws them.
EMOJI = {
    "warning": "⚠️",
    "test_tube": "🧪",
    "tada": "🎉",
    "white_check_mark": "✅",
    "twisted_rightwards_arrows": "🔀",
    "speech_balloon": "💬",
    "scroll": "📜",
    "repeat": "🔁",
    "recycle": "♻️",
    "page_facing_up": "📄",
    "no_entry_sign": "🚫",
    "memo": "📝",
    "leftwards_arrow_with_hook": "↩️",
    "eyes": "👀",
    "bell": "🔔",
    "ballot_box_with_check": "☑️",
    "arrows_counterclockwise": "🔄",
    "arrow_up": "⬆️",
}
_EMOJI_NAME = re.compile(r":([a-z_]+):")


def _bar(hex_color: str, truecolor: bool) -> str:
    try:
        red, green, blue = (int(hex_color.lstrip("#")[index : index + 2], 16) for index in (0, 2, 4))
    except ValueError:
        red, green, blue = 0x99, 0x99, 0x99
    if truecolor:
        return f"{_ESC}38;2;{red};{green};{blue}m┃{_RESET}"
    cube = [round(channel / 255 * 5) for channel in (red, green, blue)]
    return f"{_ESC}38;5;{16 + 36 * cube[0] + 6 * cube[1] + cube[2]}m┃{_RESET}"


def as_lambda_event(document: Any) -> dict[str, Any]:
    """Accept any of the shapes people save and turn it into the SNS-to-Lambda event.

    Understood: the Lambda event itself; an SNS HTTP envelope (``Type: Notification``); the
    decoded trigger message (``{"Records": [...]}``); a single trigger record; a CodeCommit,
    CodePipeline or CodeBuild EventBridge event, which is returned as the Lambda receives it.
    """
    if not isinstance(document, dict):
        raise UnprocessableEvent("the event file must hold a JSON object")
    if (
        document.get("source") in ("aws.codecommit", "aws.codepipeline", "aws.codebuild")
        and "detail" in document
    ):
        return document
    records = document.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict) and "Sns" in records[0]:
        return document
    if document.get("Type") == "Notification" and isinstance(document.get("Message"), str):
        message = document["Message"]
    elif isinstance(records, list):
        message = json.dumps(document)
    elif document.get("eventSource") == "aws:codecommit":
        message = json.dumps({"Records": [document]})
    else:
        raise UnprocessableEvent("the event file is not an SNS event, SNS message or trigger record")
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": message}}]}
