"""Local preview helpers: a loopback webhook that captures posts, and a terminal view of a payload.

These let ``python -m handler`` and ``make demo`` run the Lambda's own pipeline, delivery
included, with no Slack workspace: the payload is posted over HTTP to 127.0.0.1 and printed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/preview", received
    finally:
        server.shutdown()
        server.server_close()


def block_kit_builder_url(payload: dict[str, Any]) -> str | None:
    """A link that opens the message in Slack's Block Kit Builder, when it is short enough."""
    message = {key: payload[key] for key in ("text", "attachments") if key in payload}
    url = BLOCK_KIT_BUILDER + quote(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
    return url if len(url) <= MAX_LINK_LENGTH else None


def describe(payload: dict[str, Any], *, color: bool = False) -> str:
    """A terminal rendering of a payload: one bar per attachment, in its colour when ``color``."""
    lines = [payload.get("text", "")]
    for attachment in payload.get("attachments", []):
        bar = _bar(attachment.get("color", "#999999")) if color else "┃"
        body: list[str] = []
        for key in ("pretext", "author_name", "title"):
            if attachment.get(key):
                body.append(str(attachment[key]))
        if attachment.get("title_link"):
            body.append(f"  ↳ {attachment['title_link']}")
        body.extend(str(attachment.get("text", "")).splitlines())
        for entry in attachment.get("fields", []):
            value = str(entry["value"]).replace("\n", " · ")
            body.append(f"{entry['title']}: {value}")
        if attachment.get("footer"):
            body.append(str(attachment["footer"]))
        lines.append("")
        lines.extend(f"{bar} {line}" for line in body)
    return "\n".join(lines)


def _bar(hex_color: str) -> str:
    red, green, blue = (int(hex_color[index : index + 2], 16) for index in (1, 3, 5))
    return f"\x1b[38;2;{red};{green};{blue}m┃\x1b[0m"


def as_lambda_event(document: Any) -> dict[str, Any]:
    """Accept any of the shapes people save and turn it into the SNS-to-Lambda event.

    Understood: the Lambda event itself; an SNS HTTP envelope (``Type: Notification``); the
    decoded trigger message (``{"Records": [...]}``); a single trigger record; a CodeCommit
    EventBridge event (pull requests, comments), which is returned as the Lambda receives it.
    """
    if not isinstance(document, dict):
        raise UnprocessableEvent("the event file must hold a JSON object")
    if document.get("source") == "aws.codecommit" and "detail" in document:
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
