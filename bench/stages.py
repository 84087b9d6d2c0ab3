"""A notifier's cold start, stage by stage, in a fresh process: ``python bench/stages.py ours|plain EVENT.json``.

Runs the notifier exactly as ``our_notifier.py`` or ``plain_notifier.py`` does, with timers
wrapped around its stages from the outside (the notifiers themselves are unchanged): the
imports, session and client creation, every AWS call (from botocore's ``before-parameter-build``
to its ``after-call`` event: serialising, signing, the round trip and parsing), rendering, the
webhook client and the POST. Prints one JSON list of ``[stage, seconds]`` in the order they ran,
starting with ``["started", t]``: the :func:`time.perf_counter` reading at the first line, which
on Linux is CLOCK_MONOTONIC, shared by every process, so the parent can tell how long the
interpreter took to start.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402 (after the clock is read, so the interpreter's own start-up is measured apart)
import sys  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

stages: list[tuple[str, float]] = [("started", STARTED)]


def timed(label: str | Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, recording each call's duration under ``label`` (or ``label(*args)``)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            name = label if isinstance(label, str) else label(*args, **kwargs)
            stages.append((name, time.perf_counter() - started))

    return wrapper


def patch(owner: object, name: str, replacement: Any) -> None:
    """Replace ``owner.name``: the notifiers look these up at call time, so they get the timed one."""
    setattr(owner, name, replacement)


def time_calls(client: Any) -> Any:
    """Record every API call of a botocore client as ``<service> <Operation>``."""
    service = client.meta.service_model.service_name
    began: dict[int, list[float]] = {}

    def before(**_: Any) -> None:
        began.setdefault(threading.get_ident(), []).append(time.perf_counter())

    def after(model: Any, **_: Any) -> None:
        started = began[threading.get_ident()].pop()
        thread = threading.current_thread().name
        beside = f" (beside, on {thread})" if thread in ("tip-prefetch", "read-ahead") else ""
        stages.append((f"{service} {model.name}{beside}", time.perf_counter() - started))

    client.meta.events.register("before-parameter-build", before)
    client.meta.events.register("after-call", after)
    return client


def run_ours(event: Any) -> None:
    started = time.perf_counter()
    import handler.app
    import handler.deliver.senders
    import handler.deliver.webhook
    import handler.enrich.prefetch
    import handler.pipelines.push

    stages.append(("import handler.app", time.perf_counter() - started))
    started = time.perf_counter()
    import botocore.session

    stages.append(("import botocore.session", time.perf_counter() - started))
    patch(botocore.session, "get_session", timed("botocore session", botocore.session.get_session))
    create_client = botocore.session.Session.create_client

    def create(session: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        client = create_client(session, service, *args, **kwargs)
        stages.append((f"{service} client", time.perf_counter() - started))
        return time_calls(client)

    patch(botocore.session.Session, "create_client", create)
    read_ahead = handler.enrich.prefetch.ReadAhead
    patch(read_ahead, "get", timed("waiting for the read-ahead (head, merge base)", read_ahead.get))
    prefetch = handler.enrich.prefetch.TipPrefetch
    patch(prefetch, "get_commit", timed("waiting for the worker's tip", prefetch.get_commit))
    patch(prefetch, "get_differences", timed("waiting for the worker's changes", prefetch.get_differences))
    push_path = handler.pipelines.push
    patch(push_path, "render", timed("render", getattr(push_path, "render")))  # noqa: B009 (the push path looks it up here)
    senders = handler.deliver.senders.Senders
    patch(
        senders,
        "ready_webhook_client",
        timed("import requests (while the read-ahead reads)", senders.ready_webhook_client),
    )
    webhook = handler.deliver.webhook.SlackWebhook
    patch(webhook, "__init__", timed("webhook client", webhook.__init__))
    patch(webhook, "send", timed("POST to Slack", webhook.send))

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    handler.app.lambda_handler(event, Context())


def run_plain(event_file: str) -> None:
    started = time.perf_counter()
    import bench.plain_notifier as plain  # imports boto3

    stages.append(("import boto3", time.perf_counter() - started))
    import urllib.request

    import boto3

    client = timed("boto3 session + codecommit client", boto3.client)
    patch(boto3, "client", lambda *args, **kwargs: time_calls(client(*args, **kwargs)))
    patch(urllib.request, "urlopen", timed("POST to Slack", urllib.request.urlopen))
    sys.argv = [sys.argv[0], event_file]
    plain.main()


if __name__ == "__main__":
    which, path = sys.argv[1], sys.argv[2]
    began = time.perf_counter()
    if which == "ours":
        run_ours(json.loads(Path(path).read_text()))
    else:
        run_plain(path)
    stages.append(("whole run after start-up", time.perf_counter() - began))
    print(json.dumps(stages))
