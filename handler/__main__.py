"""``python -m handler``: preview (and optionally post) the Slack message for a push, locally.

Three ways in::

    python -m handler --demo                          # the embedded demo repository and its pushes
    python -m handler --repo PATH --ref REF           # a push of REF in a local git repository
    python -m handler EVENT.json [--repo PATH]        # a saved SNS / trigger event

Every one runs the Lambda's pipeline (parse → enrich → render → deliver). Without ``--webhook``
the message is delivered to a capture server on 127.0.0.1 and printed; with it, it is posted to
that Slack webhook too. Commits are read from ``--repo`` through git, from CodeCommit with
``--codecommit`` (needs AWS credentials), or not at all (the message says so).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from handler.app import Runtime, aws_runtime, process_event
from handler.deliver import Deadline, SlackWebhook
from handler.demo import DEMO_REPOSITORY_ARN, build_demo_repository, trigger_event
from handler.errors import CommitUnavailable, NotifierError
from handler.gitreader import LocalGitReader
from handler.model import Commit, FileChange, Repository
from handler.preview import as_lambda_event, block_kit_builder_url, capture_webhook, describe
from handler.settings import Settings
from handler.webhook_url import WebhookUrlSource


class OfflineReader:
    """A reader for event-file previews without ``--repo``: every commit is unavailable, politely."""

    def get_commit(self, commit_id: str) -> Commit:
        raise CommitUnavailable(commit_id, "offline preview; pass --repo PATH or --codecommit to read it")

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        raise CommitUnavailable(commit_id, "offline preview")


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_environ({})
        if arguments.demo:
            return _run_demo(arguments, settings)
        if arguments.event:
            event = as_lambda_event(json.loads(Path(arguments.event).read_text(encoding="utf-8")))
            return _preview([("event file " + arguments.event, event)], arguments, settings)
        if arguments.repo and arguments.ref:
            return _preview(
                [(f"{arguments.ref} in {arguments.repo}", _event_for_ref(arguments))], arguments, settings
            )
    except (NotifierError, OSError, ValueError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _parser().print_usage(sys.stderr)
    print("error: give an EVENT file, --repo PATH --ref REF, or --demo", file=sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m handler", description=__doc__.split("\n\n")[0])
    parser.add_argument("event", nargs="?", help="a saved SNS event, SNS message or trigger record (JSON)")
    parser.add_argument(
        "--demo", action="store_true", help="build the demo repository and preview its pushes"
    )
    parser.add_argument("--repo", help="read commits from this local git repository")
    parser.add_argument(
        "--ref", help="with --repo: the ref that was pushed, e.g. refs/heads/feature/x or main"
    )
    parser.add_argument("--action", choices=("created", "updated", "deleted"), default="updated")
    parser.add_argument("--pusher", default="arn:aws:iam::123456789012:user/you", help="userIdentityARN")
    parser.add_argument("--repository-arn", default=DEMO_REPOSITORY_ARN, help="eventSourceARN to use")
    parser.add_argument(
        "--codecommit", action="store_true", help="read commits from CodeCommit (AWS credentials)"
    )
    parser.add_argument("--webhook", help="also post to this Slack webhook URL")
    parser.add_argument("--json", action="store_true", help="print only the payloads, one JSON per line")
    return parser


def _event_for_ref(arguments: argparse.Namespace) -> dict[str, Any]:
    reader = LocalGitReader(arguments.repo)
    ref = arguments.ref
    if not ref.startswith("refs/"):
        full = reader.git("rev-parse", "--symbolic-full-name", ref).decode().strip()
        ref = full or ("refs/tags/" + ref if reader.git("tag", "-l", ref).strip() else f"refs/heads/{ref}")
    commit = reader.git("rev-parse", ref).decode().strip()
    reference: dict[str, Any] = {"commit": commit, "ref": ref}
    if arguments.action != "updated":
        reference[arguments.action] = True
    return trigger_event([reference], pusher_arn=arguments.pusher, repository_arn=arguments.repository_arn)


def _reader_factory(arguments: argparse.Namespace, repo: str | None) -> Callable[[Repository], Any]:
    if repo:
        local = LocalGitReader(repo)
        return lambda repository: local
    if arguments.codecommit:
        return aws_runtime(Settings.from_environ({})).reader_for
    return lambda repository: OfflineReader()


def _preview(
    events: list[tuple[str, dict[str, Any]]],
    arguments: argparse.Namespace,
    settings: Settings,
    repo: str | None = None,
) -> int:
    repo = repo or arguments.repo
    with capture_webhook() as (capture_url, received):
        for title, event in events:
            _deliver(event, arguments, settings, repo, capture_url)
            if not received:
                print(f"── {title}: dropped (see the warning above), nothing would be posted")
                continue
            for payload in received:
                _print(title, payload, arguments)
                if arguments.webhook:  # the same payload, through the same delivery code
                    SlackWebhook(arguments.webhook).send(payload, deadline=Deadline(None))
            received.clear()
    return 0


def _deliver(
    event: dict[str, Any],
    arguments: argparse.Namespace,
    settings: Settings,
    repo: str | None,
    capture_url: str,
) -> None:
    """Run the Lambda's pipeline once, delivering to the local capture webhook."""
    runtime = Runtime(
        settings=settings,
        reader_for=_reader_factory(arguments, repo),
        webhook_url=WebhookUrlSource(url=capture_url, secret_arn=None, secrets_client=_no_secrets),
    )
    process_event(event, runtime, Deadline(None))


def _no_secrets(region: str | None) -> Any:
    raise AssertionError("the local preview never reads Secrets Manager")


def _print(title: str, payload: dict[str, Any], arguments: argparse.Namespace) -> None:
    if arguments.json:
        print(json.dumps(payload, ensure_ascii=False))
        return
    print(f"\n══ {title} " + "═" * max(0, 70 - len(title)))
    print(describe(payload, color=sys.stdout.isatty()))
    print("\nSlack payload:")
    print(json.dumps(payload, ensure_ascii=False, indent=2))
    link = block_kit_builder_url(payload)
    if link:
        print(f"\nOpen in Block Kit Builder: {link}")


def _run_demo(arguments: argparse.Namespace, settings: Settings) -> int:
    with tempfile.TemporaryDirectory(prefix="codecommit-slack-demo-") as directory:
        repo = Path(directory) / "payments-service"
        pushes = build_demo_repository(repo)
        print(
            f"Demo repository built at {repo} with {len(pushes)} pushes; each runs through "
            "handler.app.process_event exactly as the Lambda does, reading commits with git.",
            file=sys.stderr if arguments.json else sys.stdout,
        )
        events = [
            (f"push {index}/{len(pushes)}: {push.title}", push.event)
            for index, push in enumerate(pushes, start=1)
        ]
        status = _preview(events, arguments, settings, repo=str(repo))
    from handler.pull_requests.demo import run_pull_request_demo  # a pull request's life, same pipeline

    return status or (0 if run_pull_request_demo(sys.stdout, json_only=arguments.json) else 1)


if __name__ == "__main__":
    raise SystemExit(main())
