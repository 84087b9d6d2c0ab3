"""The GitLab part of ``make demo``: a merge request's life from GitLab webhooks, into Mattermost and Slack.

Each step is a GitLab webhook request (payloads in the shape of GitLab's "Webhook events" page,
the same fields tests/fixtures/gitlab/ holds verbatim), sent through the real front door
(:func:`handler.gitlab.handle`: token checked in constant time, then handed over) whose hand-over
runs :func:`handler.app.process_event` at once instead of an asynchronous Lambda invoke. The
messages go to a Mattermost webhook and a Slack app (one thread per merge request, direct
messages on), both capture servers on 127.0.0.1. A forged request (wrong token) is answered 401
and posts nothing; a delivery GitLab repeats (same ``Idempotency-Key``) posts once.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

HOST = "https://gitlab.example.com"
PROJECT_PATH = "payments/checkout-service"
WEB_URL = f"{HOST}/{PROJECT_PATH}"
TOKEN = "demo-gitlab-token"
ALICE = {"id": 7, "name": "Alice Kim", "username": "alice", "email": "alice@example.com"}
BOB = {"id": 8, "name": "Bob Lee", "username": "bob", "email": "bob@example.com"}
#: Alice and Bob by GitLab username; Alice has a handle in both products, Bob in Slack only.
DEMO_USER_MAP = {"alice": {"slack": "U0ALICE01", "mattermost": "alice.kim"}, "bob": "U0BOB0001"}
DESTINATIONS = {
    "team-mm": {"type": "mattermost-webhook"},
    "reviews": {"type": "slack-app", "channel": "C0DEMOREVIEWS", "direct_messages": True},
}
ROUTES = {"routes": [{"repositories": ["payments/*"], "to": ["team-mm", "reviews"]}]}
#: What GitLab's REST API answers for the merge request (``GET /projects/42/merge_requests/12``).
MERGE_REQUEST_API = {
    "iid": 12,
    "title": "Retry card capture",
    "state": "opened",
    "author": {"username": "alice"},
    "reviewers": [{"username": "bob"}],
}
OLD = "1f0e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6"
NEW = "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3"
PROJECT = {
    "id": 42,
    "name": "checkout-service",
    "web_url": WEB_URL,
    "namespace": "payments",
    "path_with_namespace": PROJECT_PATH,
    "default_branch": "main",
}


def _commit(commit_id: str, title: str, author: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": commit_id,
        "message": f"{title}\n",
        "title": title,
        "timestamp": "2026-12-07T09:30:00+00:00",
        "url": f"{WEB_URL}/-/commit/{commit_id}",
        "author": {"name": author["name"], "email": author["email"]},
    }


def _merge_request(action: str, *, user: dict[str, Any], title: str, **extra: Any) -> dict[str, Any]:
    attributes = {
        "iid": 12,
        "title": title,
        "description": "Retries the card capture with an idempotency key.",
        "source_branch": "feature/retry-capture",
        "target_branch": "main",
        "state": "opened",
        "action": action,
        "draft": title.startswith("Draft:"),
        "updated_at": "2026-12-07T09:31:00Z",
        "url": f"{WEB_URL}/-/merge_requests/12",
        "last_commit": _commit(NEW if "oldrev" in extra else OLD, "Retry capture", ALICE),
    }
    changes = extra.pop("changes", {})
    attributes.update(extra)
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": user,
        "project": PROJECT,
        "object_attributes": attributes,
        "changes": changes,
        "reviewers": [BOB],
    }


def _note(text: str, *, user: dict[str, Any], note_id: int) -> dict[str, Any]:
    return {
        "object_kind": "note",
        "event_type": "note",
        "user": user,
        "project_id": 42,
        "project": PROJECT,
        "object_attributes": {
            "id": note_id,
            "note": text,
            "noteable_type": "MergeRequest",
            "system": False,
            "action": "create",
            "created_at": "2026-12-07 09:40:00 UTC",
            "url": f"{WEB_URL}/-/merge_requests/12#note_{note_id}",
        },
        "merge_request": {
            "iid": 12,
            "title": "Retry card capture",
            "source_branch": "feature/retry-capture",
            "target_branch": "main",
            "state": "opened",
            "last_commit": _commit(NEW, "Retry capture", ALICE),
        },
    }


def _pipeline(pipeline_id: int, status: str) -> dict[str, Any]:
    failed = status == "failed"
    return {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": pipeline_id,
            "ref": "feature/retry-capture",
            "tag": False,
            "sha": NEW,
            "status": status,
            "finished_at": "2026-12-07 09:45:00 UTC",
            "url": f"{WEB_URL}/-/pipelines/{pipeline_id}",
        },
        "user": ALICE,
        "project": PROJECT,
        "commit": _commit(NEW, "Retry capture", ALICE),
        "builds": [
            {
                "stage": "test",
                "name": "unit",
                "status": "failed" if failed else "success",
                "failure_reason": "script_failure" if failed else None,
                "allow_failure": False,
            }
        ],
    }


def _push() -> dict[str, Any]:
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": OLD,
        "after": NEW,
        "ref": "refs/heads/feature/retry-capture",
        "user_name": ALICE["name"],
        "user_username": ALICE["username"],
        "project_id": 42,
        "project": PROJECT,
        "commits": [
            _commit("3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f", "Add an idempotency key to capture", ALICE),
            _commit(NEW, "Retry capture <!channel> on timeouts", ALICE),
        ],
        "total_commits_count": 2,
    }


SUGGESTION = "Maybe cap it:\n```suggestion:-0+0\nMAX_RETRIES = 3\n```"
#: The merge request's life: (what happens, X-Gitlab-Event, payload, Idempotency-Key, X-Gitlab-Token).
STEPS: tuple[tuple[str, str, Callable[[], dict[str, Any]], str, str], ...] = (
    ("Alice opens a draft (quiet)", "Merge Request Hook",
     lambda: _merge_request("open", user=ALICE, title="Draft: Retry card capture"), "d-1", TOKEN),
    ("Alice marks it ready (Bob mentioned)", "Merge Request Hook",
     lambda: _merge_request("update", user=ALICE, title="Retry card capture",
                            changes={"draft": {"previous": True, "current": False}}), "d-2", TOKEN),
    ("Alice pushes two commits", "Push Hook", _push, "d-3", TOKEN),
    ("GitLab: new commits on the merge request", "Merge Request Hook",
     lambda: _merge_request("update", user=ALICE, title="Retry card capture", oldrev=OLD), "d-4", TOKEN),
    ("The pipeline fails", "Pipeline Hook", lambda: _pipeline(901, "failed"), "d-5", TOKEN),
    ("Bob suggests a change", "Note Hook",
     lambda: _note(SUGGESTION, user=BOB, note_id=5001), "d-6", TOKEN),
    ("The pipeline passes again (fixed)", "Pipeline Hook", lambda: _pipeline(902, "success"), "d-7", TOKEN),
    ("Bob: /리뷰완료 (Alice mentioned)", "Note Hook",
     lambda: _note("/리뷰완료 좋아요, 머지해도 됩니다", user=BOB, note_id=5002), "d-8", TOKEN),
    ("Bob approves", "Merge Request Hook",
     lambda: _merge_request("approved", user=BOB, title="Retry card capture"), "d-9", TOKEN),
    ("Someone forges a merge (wrong token: 401)", "Merge Request Hook",
     lambda: _merge_request("merge", user=BOB, title="Retry card capture", state="merged"), "d-x", "guess"),
    ("Bob merges", "Merge Request Hook",
     lambda: _merge_request("merge", user=BOB, title="Retry card capture", state="merged"), "d-10", TOKEN),
    ("GitLab delivers the merge again (same Idempotency-Key: nothing)", "Merge Request Hook",
     lambda: _merge_request("merge", user=BOB, title="Retry card capture", state="merged"), "d-10", TOKEN),
)  # fmt: skip


def request(event: str, payload: dict[str, Any], delivery: str, token: str) -> dict[str, Any]:
    """The function URL request GitLab's webhook makes."""
    return {
        "headers": {
            "content-type": "application/json",
            "x-gitlab-event": event,
            "x-gitlab-token": token,
            "idempotency-key": delivery,
            "user-agent": "GitLab/18.6.0",
        },
        "body": json.dumps(payload),
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST"}},
    }


@contextmanager
def gitlab_api() -> Iterator[str]:
    """GitLab's REST API v4 on 127.0.0.1 (the merge request only); yield its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/api/v4/projects/42/merge_requests/12" and self.headers.get("PRIVATE-TOKEN")
            body = json.dumps(MERGE_REQUEST_API if found else {"message": "404 Not found"}).encode()
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    previous = os.environ.get("GITLAB_API_URL")
    os.environ["GITLAB_API_URL"] = f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    try:
        yield os.environ["GITLAB_API_URL"]
    finally:
        if previous is None:
            os.environ.pop("GITLAB_API_URL", None)
        else:
            os.environ["GITLAB_API_URL"] = previous
        server.shutdown()
        server.server_close()


def run_gitlab_demo(out: TextIO, *, json_only: bool = False) -> int:
    """Play :data:`STEPS` through the front door and the notifier; print what each destination got;
    return how many messages and Slack API calls were made."""
    from handler.app import process_event
    from handler.deadline import Deadline
    from handler.deliver.webhook_url import DestinationSecrets
    from handler.demos.delivery import SecretsInMemory, _show, _show_call
    from handler.gitlab import FrontDoor, handle
    from handler.preview import capture_slack_api, capture_webhook, describe
    from handler.pull_requests.people import UserMap
    from handler.pull_requests.settings import PullRequestSettings
    from handler.runtime import PullRequestRuntime, Runtime, offline_runtime
    from handler.settings import Settings
    from handler.state.memory import MemoryStore

    def say(text: str) -> None:
        if not json_only:
            print(text, file=out)

    say(
        "\n\nGitLab: a merge request's life, GitLab webhook requests through handler.gitlab (token "
        "checked) into the same pipeline, to Mattermost (default) and a Slack app (#reviews, one "
        "thread per merge request, direct messages). USER_MAP maps GitLab usernames alice and bob; "
        "a note's author and reviewers come from GitLab's REST API (a stand-in on 127.0.0.1)."
    )
    settings = Settings.from_environ({"DESTINATIONS": json.dumps(DESTINATIONS), "ROUTES": json.dumps(ROUTES)})
    review_settings = PullRequestSettings(user_map=UserMap.parse(json.dumps(DEMO_USER_MAP)))
    count = 0
    with capture_webhook() as (mm_url, to_mattermost), capture_slack_api() as (api_url, calls), gitlab_api():
        secret = {
            "team-mm": mm_url,
            "reviews": "xoxb-demo-token",
            "gitlab-token": TOKEN,
            "gitlab-api-token": "glpat-demo",
        }
        store = MemoryStore()
        offline = offline_runtime(review_settings)
        runtime = Runtime(
            settings=settings,
            reader_for=_no_commit_reader,
            secrets=DestinationSecrets(
                url=None, secret_arn="demo-secret", secrets_client=lambda region: SecretsInMemory(secret)
            ),
            state=store,
            pull_requests=PullRequestRuntime(
                load_settings=lambda: review_settings, reader_for=offline.reader_for, state=store
            ),
            slack_api_url=api_url,
        )

        def hand_over(envelope: dict[str, Any]) -> None:  # what the asynchronous invoke does, at once
            process_event(envelope, runtime, Deadline(None))

        door = FrontDoor(read_secret=lambda: json.dumps(secret), invoke=hand_over)
        for index, (title, event, build, delivery, token) in enumerate(STEPS, start=1):
            answer = handle(request(event, build(), delivery, token), door)
            heading = f"gitlab {index}: {title} (answered {answer['statusCode']})"
            say(f"\n══ {heading} " + "═" * max(0, 66 - len(heading)))
            for payload in to_mattermost:
                count += 1
                _show(out, "team-mm (Mattermost webhook; the Markdown as sent)", payload, json_only, None)
            for call in calls:
                count += 1
                _show_call(out, call, json_only, describe)
            to_mattermost.clear()
            calls.clear()
    return count


def _no_commit_reader(repository: Any) -> Any:
    raise AssertionError("GitLab payloads carry their commits; nothing reads a repository")
