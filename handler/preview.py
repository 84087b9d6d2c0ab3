"""Local preview helpers: a loopback webhook and Slack Web API that capture posts, and a terminal view.

These let ``python -m handler`` and ``make demo`` run the Lambda's own pipeline, delivery
included, with no Slack workspace: the payload is posted over HTTP to 127.0.0.1 and printed.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qs, quote

from handler.deliver.destinations import DEFAULT, Destination, Flavor
from handler.deliver.webhook_url import DestinationSecrets
from handler.errors import UnprocessableEvent
from handler.logs import OUTCOME_LOGGER

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
    """One Slack Web API call the stand-in received (``token``: the bearer token it came with)."""

    method: str
    arguments: dict[str, Any]
    ts: str
    token: str = ""


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
            token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            calls.append(ApiCall(method, arguments, ts, token))
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


@dataclass(frozen=True)
class Captured:
    """One message a destination got in a preview: a webhook's payload (``method`` empty), or a
    Slack app's Web API call (``method`` says which; ``payload`` holds its arguments)."""

    destination: Destination
    payload: dict[str, Any]
    method: str = ""


class _SecretInMemory:
    """Stands in for Secrets Manager: one secret, the map of destination → capture URL or token."""

    def __init__(self, secret: Mapping[str, str]) -> None:
        self._secret = json.dumps(dict(secret))

    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 (botocore's argument name)
        return {"SecretString": self._secret}


class CapturedDestinations:
    """Loopback stand-ins for the default destination and every one ``DESTINATIONS`` declares, and
    the secret that points the function's own senders at them: a webhook destination gets a
    capture URL of its own, a Slack app a token the Web API stand-in knows it by."""

    def __init__(
        self,
        base_url: str,
        posts: list[tuple[str, dict[str, Any]]],
        api_url: str,
        calls: list[ApiCall],
        destinations: Mapping[str, Destination],
    ) -> None:
        self.api_url = api_url
        self._posts = posts
        self._calls = calls
        self._by_path = {f"/services/{name}": destination for name, destination in destinations.items()}
        self._by_token = {f"xoxb-preview-{name}": destination for name, destination in destinations.items()}
        self.default_url = f"{base_url}/services/{DEFAULT.name}"
        self._secret = {DEFAULT.name: self.default_url}
        for name, destination in destinations.items():
            webhook = destination.type.is_webhook
            self._secret[destination.secret] = (
                f"{base_url}/services/{name}" if webhook else f"xoxb-preview-{name}"
            )

    def secrets(self, flavor: Flavor) -> DestinationSecrets:
        """The secrets the pipeline reads: the default at the capture URL, in ``flavor``; the named
        destinations from a secret held in memory."""
        secret = _SecretInMemory(self._secret)
        return DestinationSecrets(
            url=self.default_url,
            secret_arn="the preview's capture",
            secrets_client=lambda region: secret,
            flavor=flavor,
        )

    def take(self) -> list[Captured]:
        """What every destination got since the last call: webhook posts, then Web API calls."""
        taken = [Captured(self._by_path.get(path, DEFAULT), payload) for path, payload in self._posts]
        taken += [
            Captured(self._by_token.get(call.token, DEFAULT), call.arguments, call.method)
            for call in self._calls
        ]
        self._posts.clear()
        self._calls.clear()
        return taken


@contextmanager
def capture_destinations(destinations: Mapping[str, Destination]) -> Iterator[CapturedDestinations]:
    """Serve a capture webhook (one path per destination) and a Slack Web API on 127.0.0.1."""
    posts: list[tuple[str, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            posts.append((self.path, json.loads(self.rfile.read(length))))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return

    with _serving(Handler) as base, capture_slack_api() as (api_url, calls):
        yield CapturedDestinations(base, posts, api_url, calls, destinations)


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
        footer = _footer_line(attachment)
        if footer:
            body.append(show.dim(show.mrkdwn(footer)))
        lines.append("")
        lines.extend(f"{bar} {line}" for line in body)
    return "\n".join(lines)


def _footer_line(attachment: dict[str, Any]) -> str:
    """The footer as Slack shows it: the footer text, then `` | `` and the time ``ts`` says.

    Slack writes the time in the reader's own time zone; the preview writes it in UTC and says so,
    so the same payload reads the same on every machine (and in the README).
    """
    parts = [str(attachment["footer"])] if attachment.get("footer") else []
    ts = attachment.get("ts")
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        parts.append(format_time(ts))
    return " | ".join(parts)


def format_time(ts: float) -> str:
    """``Nov 20, 2026 09:30 UTC`` for a Unix time."""
    at = datetime.fromtimestamp(ts, tz=UTC)
    return f"{at:%b} {at.day}, {at:%Y %H:%M} UTC"


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
    CodePipeline or CodeBuild EventBridge event, which is returned as the Lambda receives it; a
    GitLab webhook payload (``object_kind`` push, tag_push, merge_request, note, pipeline), wrapped
    in the envelope ``handler.gitlab`` hands the notifier.
    """
    if not isinstance(document, dict):
        raise UnprocessableEvent("the event file must hold a JSON object")
    if (
        document.get("source") in ("aws.codecommit", "aws.codepipeline", "aws.codebuild")
        and "detail" in document
    ):
        return document
    from handler.sources.gitlab import envelope_for  # a GitLab webhook payload, as posted or wrapped

    if (gitlab := envelope_for(document)) is not None:
        return gitlab
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


def one_line(text: str) -> str:
    """``text`` on one line: a multi-line message (a settings problem listed per item) joined with
    spaces, so a command's ``error:`` line is always one line."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


@dataclass(frozen=True)
class Reason:
    """Why (part of) an event posts nothing: ``what`` became of it (dropped, filtered, a draft)
    and ``why``, in the pipeline's words; ``decision`` when the pipeline's own line said it at the
    point it decided (the pull-request pipeline's ``not posting ...`` and draft lines)."""

    what: str
    why: str
    decision: bool = False


class PipelineLog(logging.Handler):
    """What the pipeline logs while the preview runs one event, sorted for a person at a terminal.

    The function says why an event posts nothing in its log (the outcome lines of
    :mod:`handler.logs`, the parsers' ``dropped ...`` lines, the pull-request pipeline's ``not
    posting ...``); the preview collects those as :class:`Reason` s and prints each one once, after
    the event. Where the pull-request pipeline says which setting held an event back, its generic
    ``filtered`` outcome line is not printed beside it. An ERROR line is held until the event
    ends: when the pipeline raises, the command reports that failure once, as its ``error:`` line,
    and the held lines (the same failure, logged on its way out) are let go; otherwise they are
    printed. Any other warning is printed as it comes.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(logging.INFO)
        self.stream = stream
        self.reasons: list[Reason] = []
        self.held: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Sort one record: a reason, a held error, a warning to print, or INFO to let go."""
        reason = _reason(record)
        if reason is not None and all(reason.why != seen.why for seen in self.reasons):
            self.reasons.append(reason)  # once: a parser's line and its outcome line say the same
        elif record.levelno >= logging.ERROR:
            self.held.append(record)
        elif record.levelno >= logging.WARNING:
            self._write(record)

    def finish(self, *, raised: bool) -> list[Reason]:
        """End one event: print the held errors unless it ``raised``; return (and forget) its reasons."""
        if not raised:
            for record in self.held:
                self._write(record)
        reasons = self.reasons
        if any(
            reason.decision for reason in reasons
        ):  # it says which setting; the outcome line, that one did
            reasons = [reason for reason in reasons if reason.decision or reason.what != "filtered"]
        self.reasons, self.held = [], []
        return reasons

    def _write(self, record: logging.LogRecord) -> None:
        print(f"{record.levelname.lower()}: {one_line(record.getMessage())}", file=self.stream)


def _reason(record: logging.LogRecord) -> Reason | None:
    """The reason a record gives for posting nothing, if it gives one."""
    message = record.getMessage()
    if record.name == OUTCOME_LOGGER:
        outcome = str(getattr(record, "outcome", ""))
        if outcome in ("dropped", "filtered"):
            return Reason(outcome, str(getattr(record, "reason", "")) or message)
        return None  # delivered, duplicate and late the caller counts; raised it reports itself
    if record.name.startswith("handler.sources.") and message.startswith("dropped "):
        return Reason("dropped", message.removeprefix("dropped "))
    if record.levelno == logging.INFO:  # the pull-request pipeline's decisions
        if message.startswith("not posting "):  # PULL_REQUEST_EVENTS or ROUTES
            return Reason("filtered", message.removeprefix("not posting "), decision=True)
        if message.endswith(" not announced"):
            return Reason("a draft", message, decision=True)
    return None
