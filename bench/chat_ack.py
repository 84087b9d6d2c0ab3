"""``make bench`` section e: a fresh process → the acknowledgement of a signed button click.

Ours (``handler.chat.lambda_handler``) against the anchor, a minimal slack-bolt Lambda app as
Bolt's documentation writes one (``App(process_before_response=True)``, the AWS Lambda adapter,
an ``ack`` plus one lazy listener, which Bolt hands on through an asynchronous self-invoke).
Both do what the acknowledgement needs on a cold start: read the signing secret from Secrets
Manager, verify the request, and start the work with Lambda Invoke (``InvocationType`` ``Event``);
Bolt also asks ``auth.test`` once (its single-workspace authorisation). Every AWS and Slack call
goes to one loopback stand-in (:class:`AckStandIn`), which also checks that each run invoked once.

Each run is a new ``python`` process (the same interpreter and site-packages for both), timed from
its launch to the moment the handler returned its answer (``time.perf_counter`` is the system's
monotonic clock, the same in both processes). Medians of interleaved runs; the ratio is ours ÷
Bolt's (target ≤ 1.00×).

Run alone: ``python -m bench --only e`` (or ``python -m bench.chat_ack`` for this section only).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0BENCH01"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:chat-bench"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:chat-bench-AbCdEf"


class AckStandIn:
    """Secrets Manager's GetSecretValue, Lambda's Invoke and Slack's auth.test on 127.0.0.1."""

    def __init__(self) -> None:
        from tests.standins import LoopbackServer

        self.invokes = 0
        self.lock = threading.Lock()
        self.server = LoopbackServer()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                target = self.headers.get("X-Amz-Target", "")
                if target.endswith("GetSecretValue"):
                    document = {"slack-signing-secret": SIGNING_SECRET, "reviews": "xoxb-1-2-bench"}
                    self._answer(
                        200, {"ARN": SECRET_ARN, "Name": "chat-bench", "SecretString": json.dumps(document)}
                    )
                elif self.path.endswith("/invocations"):
                    with outer.lock:
                        outer.invokes += 1
                    self._answer(202, None)
                elif self.path.endswith("auth.test"):
                    self._answer(200, {"ok": True, "user_id": "U0BOT", "team_id": TEAM, "bot_id": "B0BOT"})
                else:
                    self._answer(404, {"message": self.path})

            def _answer(self, status: int, body: dict[str, Any] | None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server.serve(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        self.server.stop()


def click_event() -> dict[str, Any]:
    """A signed Approve click as a function-URL request, timestamped now."""
    from handler.inbound.slack import signature
    from handler.render.actions import APPROVE, ButtonTarget

    target = ButtonTarget("reviews", "payments", "12", "rev-1")
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "bench"},
        "user": {"id": "U0BOB0001", "team_id": TEAM},
        "api_app_id": "A0BENCH",
        "trigger_id": "1.2.3",
        "response_url": "https://hooks.slack.com/actions/T0BENCH01/1/abc",
        "container": {"type": "message", "channel_id": "C0REVIEWS1", "message_ts": "1.0"},
        "message": {"ts": "1.0", "text": "PR #12"},
        "actions": [{"action_id": APPROVE, "block_id": "b", "value": target.value(), "type": "button"}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = str(int(time.time()))
    return {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature(SIGNING_SECRET, timestamp, body.encode()),
        },
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": body,
        "isBase64Encoded": False,
    }


class _Context:
    function_name = "chat-bench"
    invoked_function_arn = FUNCTION_ARN
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def child(which: str, event_file: str) -> None:
    """One cold acknowledgement in this fresh process; print when it was ready."""
    event = json.loads(Path(event_file).read_text())
    if which == "ours":
        from handler.chat import lambda_handler

        answer = lambda_handler(event, _Context())
    else:
        import boto3
        from slack_bolt import App
        from slack_bolt.adapter.aws_lambda import SlackRequestHandler
        from slack_sdk import WebClient

        text = boto3.client("secretsmanager").get_secret_value(
            SecretId=os.environ["SLACK_WEBHOOK_SECRET_ARN"]
        )
        signing_secret = json.loads(text["SecretString"])["slack-signing-secret"]
        client = WebClient(token="xoxb-1-2-bench", base_url=os.environ["SLACK_API_URL"])
        app = App(process_before_response=True, signing_secret=signing_secret, client=client)

        def acknowledge(ack: Any) -> None:
            ack()

        def approve(body: dict[str, Any]) -> None:  # the lazy part: runs in the self-invoked copy
            pass

        app.action("codecommit_approve")(ack=acknowledge, lazy=[approve])
        answer = SlackRequestHandler(app).handle(event, _Context())
    ready = time.perf_counter()
    print(json.dumps({"ready": ready, "status": answer["statusCode"]}))


def chat_ack(rounds: int) -> list[str]:
    """Section e's lines (see the module docstring)."""
    stand_in = AckStandIn()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-chat-") as directory:
            event_file = Path(directory) / "click.json"
            environment = {
                **os.environ,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": stand_in.url,
                "AWS_ENDPOINT_URL_LAMBDA": stand_in.url,
                "SLACK_API_URL": stand_in.url + "/api/",
                "SLACK_WEBHOOK_SECRET_ARN": SECRET_ARN,
                "SLACK_TEAM_ID": TEAM,
                "DESTINATIONS": json.dumps(
                    {"reviews": {"type": "slack-app", "channel": "C0REVIEWS1", "interactive": True}}
                ),
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONPATH": str(ROOT),
            }
            environment.pop("AWS_PROFILE", None)

            def run(which: str) -> float:
                event_file.write_text(json.dumps(click_event()))
                before = stand_in.invokes
                started = time.perf_counter()
                result = subprocess.run(
                    [sys.executable, "-m", "bench.chat_ack", which, str(event_file)],
                    env=environment,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                assert result.returncode == 0, f"{which} failed: {result.stderr[-2000:]}"
                outcome = json.loads(result.stdout.strip().splitlines()[-1])
                assert outcome["status"] == 200, f"{which}: {result.stderr}"
                assert stand_in.invokes == before + 1, (
                    f"{which} did not hand the work on once: {result.stderr}"
                )
                return float(outcome["ready"]) - started

            from bench.__main__ import interleaved

            samples = interleaved({"ours": lambda: run("ours"), "bolt": lambda: run("bolt")}, rounds)
    finally:
        stand_in.stop()
    ours, bolt = statistics.median(samples["ours"]), statistics.median(samples["bolt"])
    wins = sum(1 for a, b in zip(samples["ours"], samples["bolt"], strict=True) if a <= b)
    return [
        f"fresh process → acknowledgement of a signed Approve click, median of {rounds} interleaved runs",
        f"  ours (handler.chat):             {ours * 1000:7.1f} ms",
        f"  anchor (minimal slack-bolt app): {bolt * 1000:7.1f} ms",
        f"  ratio ours ÷ bolt: {ours / bolt:.2f}× (target ≤ 1.00×); ours first or even in {wins} of {rounds} pairs",
        f"  absolute cold ack (ours): {ours * 1000:.0f} ms of Slack's 3,000 ms on this machine",
    ]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("ours", "bolt"):
        child(sys.argv[1], sys.argv[2])
    else:
        count = int(sys.argv[1]) if len(sys.argv) > 1 else 15
        for line in chat_ack(count):
            print(line)
