"""``python -m handler``: preview (and optionally post) the chat message for a push or a pull-request
event, locally, as Slack (mrkdwn) or Mattermost (Markdown, ``--flavor mattermost``) would get it.

Three ways in::

    python -m handler --demo                          # the embedded demo repository and its pushes
    python -m handler --repo PATH --ref REF           # a push of REF in a local git repository
    python -m handler EVENT.json [--repo PATH]        # a saved SNS / trigger event

Every one runs the Lambda's pipeline (parse → enrich → render → deliver) with the settings the
function would read: the same environment variables (``BRANCH_COLORS``, ``MAX_FILES_PER_DIFF``,
..., the pull-request ones ``USER_MAP``, ``PULL_REQUEST_EVENTS``, ...), read, validated and
applied by the function's own code (:class:`PreviewSettings`), overridable with ``--set
NAME=VALUE``. Without ``--webhook`` the message is delivered to a capture server on 127.0.0.1
(one per destination, when ``ROUTES`` names others) and printed; with it, the default
destination's message is posted to that Slack or Mattermost webhook too, in the dialect the
function would detect from its URL. Commits are read from
``--repo`` through git, from CodeCommit with ``--codecommit`` (needs AWS credentials), or not at
all (the message says so).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from handler.app import process_event
from handler.deadline import Deadline
from handler.deliver.destinations import DEFAULT, Flavor
from handler.deliver.webhook import SlackWebhook, validate_webhook_url
from handler.deliver.webhook_url import DestinationSecrets
from handler.demo import (
    DEMO_PUSH_COUNT,
    DEMO_REPOSITORY_ARN,
    demo_pushes,
    init_demo_repository,
    trigger_event,
)
from handler.enrich.gitreader import LocalGitReader
from handler.enrich.pull_request_reader import (
    CodeCommitPullRequestReader,
    OfflinePullRequestReader,
    PullRequestReader,
)
from handler.enrich.reader import CommitOnlyReader
from handler.errors import (
    CommitUnavailable,
    ConfigurationError,
    DeliveryError,
    DeliveryRefused,
    NotifierError,
    RepositoryReadError,
    UnprocessableEvent,
)
from handler.model import Commit, FileChange, Repository
from handler.preview import (
    Captured,
    CapturedDestinations,
    PipelineLog,
    Reason,
    as_lambda_event,
    block_kit_builder_url,
    capture_destinations,
    describe,
    one_line,
)
from handler.pull_requests.settings import PullRequestSettings
from handler.runtime import PullRequestRuntime, Runtime, aws_runtime
from handler.settings import Settings, setting_specs
from handler.sources.trigger import parse_event, parse_repository_arn
from handler.state import StateStore
from handler.state.heads import RefHeads
from handler.state.memory import MemoryStore
from handler.state.sqlite import SQLiteStore

#: Exit statuses a script can rely on (also listed in ``--help`` and docs/preview.md).
EXIT_OK = 0  #: every message was previewed (and posted, with --webhook)
EXIT_DROPPED = 1  #: an event was dropped: nothing would be posted for it (the reason is on stderr)
EXIT_USAGE = 2  #: bad arguments or input: flags, --repo path, --ref, --repository-arn, event file
EXIT_CONFIG = 3  #: a setting is invalid (environment or --set), or AWS credentials are missing for it
EXIT_DELIVERY = 4  #: --webhook: Slack or Mattermost refused the message or did not take it in time
EXIT_READ = 5  #: --codecommit: reading the repository failed (access denied, throttled, unreachable)

#: The repository a ``--repo`` preview is labelled with, unless ``--repository-arn`` says otherwise:
#: the directory's name, in a neutral region and account that no real trigger would carry.
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "000000000000"
LOCAL_PUSHER = f"arn:aws:iam::{LOCAL_ACCOUNT}:user/you"

EPILOG = f"""\
settings:
  The function's environment variables apply here too (BRANCH_COLORS, MAX_FILES_PER_DIFF, ...,
  USER_MAP, PULL_REQUEST_EVENTS, ROUTES; see docs/configuration.md), read, validated and applied by the
  function's own code. --set NAME=VALUE overrides one for this run. Without --flavor, the dialect
  is DESTINATION_FLAVOR's, else the webhook URL's (--webhook, else SLACK_WEBHOOK_URL), as the
  function decides it. ROUTES to named destinations (DESTINATIONS) shows what each one gets.

nothing posted:
  Every reason an event (or part of one) posts nothing is one line on stderr: dropped (and why),
  filtered (ROUTES, PULL_REQUEST_EVENTS), or a draft. An error is one "error: ..." line.

repository name:
  A --repo preview names the repository after its directory, in region {LOCAL_REGION}, account
  {LOCAL_ACCOUNT}; pass --repository-arn to use a real one. --demo keeps the demo's own ARN.

colour:
  --color auto (the default) colours a terminal unless NO_COLOR is set to a non-empty value or
  TERM is dumb; always and never override both. --json output is never coloured.

exit status:
  {EXIT_OK}  previewed (and posted, with --webhook)
  {EXIT_DROPPED}  an event was dropped: nothing would be posted for it (why is on stderr)
  {EXIT_USAGE}  bad arguments or input (flags, --repo path, --ref, --repository-arn, event file)
  {EXIT_CONFIG}  invalid setting (environment or --set), or no AWS credentials for --codecommit or
     USER_MAP_PARAMETER
     or USER_MAP_PARAMETER
  {EXIT_DELIVERY}  --webhook: Slack or Mattermost refused the message or did not take it
  {EXIT_READ}  --codecommit: reading the repository failed
"""


class CliError(Exception):
    """A problem the person running the command can fix; printed as one line, never a traceback."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class OfflineReader(CommitOnlyReader):
    """A reader for event-file previews without ``--repo``: every commit is unavailable, politely."""

    def get_commit(self, commit_id: str) -> Commit:
        raise CommitUnavailable(commit_id, "offline preview; pass --repo PATH or --codecommit to read it")

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        raise CommitUnavailable(commit_id, "offline preview")


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit status (see :data:`EPILOG`)."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    with _stderr_logging() as pipeline_log:
        try:
            return _run(arguments, parser, pipeline_log)
        except CliError as error:
            print(f"error: {one_line(str(error))}", file=sys.stderr)
            return error.exit_code


def _run(arguments: argparse.Namespace, parser: argparse.ArgumentParser, pipeline_log: PipelineLog) -> int:
    settings = _settings(arguments, os.environ)
    if arguments.demo:
        return _run_demo(arguments, settings, pipeline_log)
    if arguments.event and arguments.ref:
        raise CliError("give an EVENT file or --ref, not both: the event names its own refs", EXIT_USAGE)
    if arguments.event:
        events = [(f"event file {arguments.event}", _read_event(arguments))]
        return _preview(events, arguments, settings, pipeline_log=pipeline_log)
    if arguments.ref:
        # Heads are remembered in the working directory, so the next preview of this ref
        # lists the commits added since this one.
        event = _event_for_ref(arguments)
        return _preview(
            [(f"{arguments.ref} in {arguments.repo}", event)],
            arguments,
            settings,
            pipeline_log=pipeline_log,
            state=_ref_preview_state(event),
        )
    parser.print_usage(sys.stderr)
    print("error: give an EVENT file, --repo PATH --ref REF, or --demo", file=sys.stderr)
    return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m handler",
        description=(
            "Preview (and optionally post) the Slack or Mattermost message for a push or a "
            "pull-request event, locally."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("event", nargs="?", help="a saved SNS event, SNS message or trigger record (JSON)")
    parser.add_argument(
        "--demo", action="store_true", help="build the demo repository and preview its pushes"
    )
    parser.add_argument("--repo", help="read commits from this local git repository")
    parser.add_argument(
        "--ref", help="with --repo: the ref that was pushed, e.g. refs/heads/feature/x or main"
    )
    parser.add_argument(
        "--action",
        choices=("created", "updated", "deleted"),
        default="updated",
        help="with --ref: what the push did to the ref (default: %(default)s)",
    )
    parser.add_argument("--pusher", default=LOCAL_PUSHER, help="userIdentityARN (default: %(default)s)")
    parser.add_argument(
        "--repository-arn",
        help=f"with --ref: eventSourceARN (default: the --repo directory's name in {LOCAL_REGION})",
    )
    parser.add_argument(
        "--codecommit", action="store_true", help="read commits from CodeCommit (AWS credentials)"
    )
    parser.add_argument(
        "--webhook", help="also post to this Slack (or, with --flavor, Mattermost) webhook URL"
    )
    parser.add_argument(
        "--flavor",
        choices=("slack", "mattermost"),
        help="write for Slack (mrkdwn) or Mattermost (Markdown); default: DESTINATION_FLAVOR, else slack",
    )
    parser.add_argument(
        "--json", action="store_true", help="print only the payloads on stdout, one JSON per line"
    )
    parser.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="colour the terminal preview"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a function setting for this run, overriding the environment (repeatable)",
    )
    return parser


@contextmanager
def _stderr_logging() -> Iterator[PipelineLog]:
    """Diagnostics on stderr while the command runs (put back as they were after, so ``main`` can
    be called in-process): libraries' warnings as they come, and the pipeline's lines sorted by a
    :class:`~handler.preview.PipelineLog` (why an event posts nothing; errors the command reports
    itself)."""
    root, pipeline = logging.getLogger(), logging.getLogger("handler")
    saved = (root.handlers[:], root.level, pipeline.level, pipeline.propagate)
    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(logging.WARNING)  # botocore's logger is kept at INFO (handler.deliver.webhook)
    stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    pipeline_log = PipelineLog(sys.stderr)
    root.handlers[:] = [stream]
    root.setLevel(logging.WARNING)
    pipeline.setLevel(logging.INFO)  # the reasons for posting nothing are INFO lines
    pipeline.propagate = False
    pipeline.addHandler(pipeline_log)
    try:
        yield pipeline_log
    finally:
        pipeline.removeHandler(pipeline_log)
        root.handlers[:], root.level, pipeline.level, pipeline.propagate = saved


@dataclass(frozen=True)
class PreviewSettings:
    """What a preview runs with, read from one environment by the function's own code.

    Attributes:
        function: the function's settings (:meth:`Settings.from_environ`), with ``--flavor``.
        pull_requests: the pull-request settings (:meth:`PullRequestSettings.from_environ`). The
            function reads them when a pull-request event arrives; the preview reads them up front,
            so a setting the function would reject fails a preview of any event.
        flavor: the default destination's dialect, decided by the function's own rule
            (:meth:`DestinationSecrets.flavor_for`): ``--flavor`` or ``DESTINATION_FLAVOR``, else
            from the webhook's URL (``--webhook``, else ``SLACK_WEBHOOK_URL``), else Slack.
    """

    function: Settings
    pull_requests: PullRequestSettings
    flavor: Flavor


def _settings(arguments: argparse.Namespace, environ: Mapping[str, str]) -> PreviewSettings:
    """Every setting the function reads, from the environment with ``--set`` overrides, validated
    and applied by the function's own code; an invalid one is a :class:`CliError` with its message."""
    merged = dict(environ)
    for override in arguments.set:
        name, equals, value = override.partition("=")
        if not equals or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            raise CliError(f"--set takes NAME=VALUE with an upper-case NAME, got {override!r}", EXIT_USAGE)
        known = _known_settings()
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else " (docs/configuration.md lists every setting)"
            raise CliError(f"--set {name}: no such setting{hint}", EXIT_USAGE)
        merged[name] = value
    if arguments.webhook:
        try:
            validate_webhook_url(arguments.webhook)
        except ConfigurationError as error:
            raise CliError(f"--webhook: {error}", EXIT_USAGE) from error
    try:
        settings = Settings.from_environ(merged)
        if arguments.flavor:
            settings = dataclasses.replace(settings, destination_flavor=Flavor(arguments.flavor))
        flavor = _default_flavor(arguments.webhook or settings.webhook_url, settings.destination_flavor)
        pull_requests = PullRequestSettings.from_environ(merged, read_parameter=_read_parameter)
    except ConfigurationError as error:
        raise CliError(str(error), EXIT_CONFIG) from error
    return PreviewSettings(settings, pull_requests, flavor)


def _default_flavor(url: str | None, configured: Flavor | None) -> Flavor:
    """The default destination's dialect, as the function decides it for the same URL and setting.

    Raises:
        ConfigurationError: ``SLACK_WEBHOOK_URL`` is not a usable webhook URL (the function's message).
    """
    if url is None:
        return configured or Flavor.SLACK
    secrets = DestinationSecrets(url=url, secret_arn=None, secrets_client=_no_secrets, flavor=configured)
    return secrets.flavor_for(DEFAULT)


def _read_parameter(name: str) -> str:
    """``USER_MAP_PARAMETER``, read from SSM as the function reads it (with AWS credentials)."""
    _require_aws_credentials(
        f"USER_MAP_PARAMETER {name!r} is read from SSM, and no AWS credentials were found; run "
        "`aws configure` or `aws sso login`, set AWS_PROFILE, or give the map as USER_MAP or USER_MAP_FILE"
    )
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
    except (BotoCoreError, ClientError) as error:
        raise ConfigurationError(f"USER_MAP_PARAMETER {name!r} cannot be read: {error}") from error
    return str(response["Parameter"]["Value"])


#: The pull-request settings (read by handler/pull_requests/settings.py when such an event arrives).
PULL_REQUEST_VARIABLES = frozenset(
    {"USER_MAP", "USER_MAP_FILE", "USER_MAP_PARAMETER", "REVIEW_COMMANDS", "PULL_REQUEST_EVENTS"}
)


def _known_settings() -> frozenset[str]:
    """Every variable ``--set`` may name: the function's settings and the pull-request ones."""
    return frozenset(spec.variable for spec in setting_specs()) | PULL_REQUEST_VARIABLES


def _read_event(arguments: argparse.Namespace) -> dict[str, Any]:
    if arguments.repository_arn:
        raise CliError(
            "--repository-arn only applies with --ref: an event file names its repository", EXIT_USAGE
        )
    path = Path(arguments.event)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise CliError(f"cannot read the event file {path}: {reason}", EXIT_USAGE) from error
    try:
        document = json.loads(text)
    except ValueError as error:
        raise CliError(f"the event file {path} is not JSON: {error}", EXIT_USAGE) from error
    try:
        return as_lambda_event(document)
    except UnprocessableEvent as error:
        raise CliError(f"{path}: {error}", EXIT_USAGE) from error


def _git_repository(path_text: str) -> LocalGitReader:
    """The reader for ``--repo``, after checking that the path is a git repository."""
    path = Path(path_text)
    if not path.exists():
        raise CliError(f"--repo {path_text}: no such directory", EXIT_USAGE)
    if not path.is_dir():
        raise CliError(f"--repo {path_text}: not a directory", EXIT_USAGE)
    reader = LocalGitReader(path)
    try:
        reader.git("rev-parse", "--git-dir")
    except FileNotFoundError as error:
        raise CliError("--repo needs the git command, and it is not on PATH", EXIT_USAGE) from error
    except subprocess.CalledProcessError as error:
        raise CliError(f"--repo {path_text}: not a git repository", EXIT_USAGE) from error
    return reader


def _repository_arn(arguments: argparse.Namespace) -> str:
    if arguments.repository_arn:
        try:
            parse_repository_arn(arguments.repository_arn)
        except UnprocessableEvent as error:
            raise CliError(
                f"--repository-arn {arguments.repository_arn[:200]!r} is not a CodeCommit repository ARN; "
                "expected arn:aws:codecommit:REGION:ACCOUNT:NAME",
                EXIT_USAGE,
            ) from error
        return str(arguments.repository_arn)
    name = re.sub(r"[^\w.-]", "-", Path(arguments.repo).resolve().name)[:100] or "repository"
    return f"arn:aws:codecommit:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{name}"


def _event_for_ref(arguments: argparse.Namespace) -> dict[str, Any]:
    if not arguments.repo:
        raise CliError("--ref needs --repo PATH: the repository the ref is in", EXIT_USAGE)
    reader = _git_repository(arguments.repo)
    repository_arn = _repository_arn(arguments)
    ref = arguments.ref
    try:
        if not ref.startswith("refs/"):
            full = reader.git("rev-parse", "--symbolic-full-name", ref).decode().strip()
            ref = full or (
                "refs/tags/" + ref if reader.git("tag", "-l", ref).strip() else f"refs/heads/{ref}"
            )
        commit = reader.git("rev-parse", "--verify", "--quiet", ref).decode().strip()
    except subprocess.CalledProcessError as error:
        raise CliError(
            f"--ref {arguments.ref!r} is not a branch, tag or commit in {arguments.repo} "
            "(`git -C PATH show-ref` lists them)",
            EXIT_USAGE,
        ) from error
    reference: dict[str, Any] = {"commit": commit, "ref": ref}
    if arguments.action != "updated":
        reference[arguments.action] = True
    return trigger_event(
        [reference],
        pusher_arn=arguments.pusher,
        repository_arn=repository_arn,
        message_id=f"preview-{uuid.uuid4()}",
    )


def _ref_preview_state(event: dict[str, Any]) -> StateStore:
    """The store a ``--ref`` preview keeps heads in: a file in the working directory, so the next
    preview of the ref lists what was added since. When the ref has not moved since the last
    preview, the pipeline would rightly post nothing; a preview shows the tip instead, from a
    fresh store, and says so."""
    store = SQLiteStore()
    heads = RefHeads(store)
    for push in parse_event(event):
        for ref_change in push.ref_changes:
            record = heads.read(push.repository, ref_change.full_name)
            if record is not None and record.commit_id == ref_change.commit_id:
                print(
                    f"note: no new commits since the last preview of {ref_change.full_name}; showing its tip",
                    file=sys.stderr,
                )
                return MemoryStore()
    return store


def _reader_factory(
    arguments: argparse.Namespace, repo: str | None, settings: Settings
) -> Callable[[Repository], Any]:
    if repo:
        local = _git_repository(repo)
        return lambda repository: local
    if arguments.codecommit:
        _require_aws_credentials()
        return aws_runtime(settings).reader_for
    return lambda repository: OfflineReader()


NO_CREDENTIALS = (
    "--codecommit needs AWS credentials and none were found; run `aws configure` or "
    "`aws sso login`, set AWS_PROFILE, or preview from a clone with --repo PATH instead"
)


def _require_aws_credentials(message: str = NO_CREDENTIALS) -> None:
    import boto3  # only --codecommit and USER_MAP_PARAMETER pay for it

    if boto3.Session().get_credentials() is None:
        raise CliError(message, EXIT_CONFIG)


def _pull_request_reader_factory(arguments: argparse.Namespace) -> Callable[[Repository], PullRequestReader]:
    """Pull requests are read from CodeCommit with ``--codecommit``; otherwise not at all (the
    message shows what the event says, as the function's does when a read fails)."""
    if not arguments.codecommit:
        return lambda repository: OfflinePullRequestReader()
    _require_aws_credentials()
    import boto3

    return lambda repository: CodeCommitPullRequestReader(boto3.client("codecommit", repository.region))


def _preview(
    events: Iterable[tuple[str, dict[str, Any]]],
    arguments: argparse.Namespace,
    settings: PreviewSettings,
    *,
    pipeline_log: PipelineLog,
    repo: str | None = None,
    state: StateStore | None = None,
) -> int:
    """Run each event through the pipeline into a capture webhook and print what was posted, and
    for each event that posts nothing (or drops a part), every reason the pipeline gave.

    ``state`` is where delivery marks and branch heads are kept between the events (and between
    runs, for a file-backed store); None gives each run a fresh in-memory store.
    """
    state = state if state is not None else MemoryStore()
    repo = repo or arguments.repo
    if repo and arguments.codecommit:
        raise CliError("give --repo or --codecommit, not both: commits are read from one place", EXIT_USAGE)
    reader_for = _reader_factory(arguments, repo, settings.function)
    pull_requests = PullRequestRuntime(
        load_settings=lambda: settings.pull_requests, reader_for=_pull_request_reader_factory(arguments)
    )
    webhook = _webhook(arguments, settings)
    color, truecolor = _color_choice(arguments.color, sys.stdout, os.environ)
    notes = sys.stderr if arguments.json else sys.stdout
    status = EXIT_OK
    with capture_destinations(settings.function.destinations) as capture:
        for title, event in events:
            try:
                outcomes = _run_pipeline(
                    event,
                    settings,
                    reader_for=reader_for,
                    pull_requests=pull_requests,
                    capture=capture,
                    state=state,
                )
            except BaseException:
                pipeline_log.finish(raised=True)
                raise
            received = capture.take()
            if not _explain(title, received, outcomes, pipeline_log.finish(raised=False), notes):
                status = EXIT_DROPPED
            for captured in received:
                _print(
                    title,
                    captured,
                    flavor=settings.flavor,
                    json_only=arguments.json,
                    color=color and not arguments.json,
                    truecolor=truecolor,
                )
                if webhook is not None and captured.destination is DEFAULT:  # through the same code
                    _post(webhook, captured.payload)
    return status


def _explain(
    title: str, received: list[Captured], outcomes: Mapping[str, int], reasons: list[Reason], notes: TextIO
) -> bool:
    """Say why an event (or part of it) posts nothing, one line per reason; False if it was dropped.

    A redelivery and a late push post nothing by design: they are said on ``notes`` and are not drops.
    """
    nothing = "" if received else ", nothing would be posted"
    for reason in reasons:
        print(f"── {title}: {reason.what}{nothing}: {reason.why}", file=sys.stderr)
    if received:
        return True
    if outcomes.get("duplicate") or outcomes.get("late"):
        why = (
            "posted nothing: this SNS message id was delivered before"
            if outcomes.get("duplicate")
            else "posted nothing: a later push to the same branch was already reported"
        )
        print(f"\n── {title}: {why}", file=notes)
        return True
    if not reasons:
        print(
            f"── {title}: nothing would be posted, and the pipeline gave no reason; please report it "
            "as a bug, with the event",
            file=sys.stderr,
        )
    return False
def _with_pipeline_of(event: dict[str, Any], settings: Settings) -> Settings:
    """``settings`` with a saved CodePipeline event's own pipeline added to ``PIPELINES``."""
    from handler.sources import is_pipeline_event

    detail = event.get("detail") if is_pipeline_event(event) else None
    name = detail.get("pipeline") if isinstance(detail, dict) else None
    if not isinstance(name, str) or name in settings.pipelines:
        return settings
    return dataclasses.replace(settings, pipelines=settings.pipelines | {name})


def _run_pipeline(
    event: dict[str, Any],
    settings: PreviewSettings,
    *,
    reader_for: Callable[[Repository], Any],
    pull_requests: PullRequestRuntime,
    capture: CapturedDestinations,
    state: StateStore,
) -> dict[str, int]:
    """Run the Lambda's pipeline once, delivering to the local capture webhook; return its outcomes.

    A saved CodePipeline event's pipeline counts as known (``PIPELINES``) so that it previews;
    nothing is read from CodePipeline, so the message says what the event says."""
    runtime = Runtime(
        settings=_with_pipeline_of(event, settings.function),
        reader_for=reader_for,
        secrets=capture.secrets(settings.flavor),
        state=state,
        pull_requests=pull_requests,
        slack_api_url=capture.api_url,
    )
    try:
        return process_event(event, runtime, Deadline(None))
    except RepositoryReadError as error:
        if type(error.__cause__).__name__ == "NoCredentialsError":
            raise CliError(NO_CREDENTIALS, EXIT_CONFIG) from error
        detail = str(error).split("; ", 1)[0]  # the rest is advice for the deployed function
        if "AccessDenied" in detail:
            detail += (
                "; the AWS identity you are using needs CodeCommit read access (codecommit:Get*, "
                "codecommit:BatchGetCommits) on this repository"
            )
        raise CliError(f"reading the repository failed: {detail}", EXIT_READ) from error
    except subprocess.CalledProcessError as error:
        git_says = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        raise CliError(f"git failed: {git_says[-1] if git_says else error}", EXIT_USAGE) from error
    except NotifierError as error:
        raise CliError(str(error), EXIT_USAGE) from error


def _webhook(arguments: argparse.Namespace, settings: PreviewSettings) -> SlackWebhook | None:
    """The ``--webhook`` client (its URL was checked with the settings), in the detected dialect."""
    if not arguments.webhook:
        return None
    return SlackWebhook(
        arguments.webhook,
        timeout_seconds=settings.function.slack_timeout_seconds,
        max_attempts=settings.function.delivery_max_attempts,
        flavor=settings.flavor.value,
    )


def _post(webhook: SlackWebhook, payload: dict[str, Any]) -> None:
    """Post to ``--webhook``; a failure is explained for someone at a terminal, not for the Lambda."""
    try:
        receipt = webhook.send(payload, deadline=Deadline(None))
        print(f"posted to --webhook in {receipt.attempts} attempt(s)", file=sys.stderr)
    except DeliveryRefused as error:
        product = webhook.product
        if error.status in (403, 404, 410):
            where = (
                "the Slack app's Incoming Webhooks page"
                if product == "Slack"
                else "Mattermost's Integrations > Incoming Webhooks"
            )
            advice = (
                "the webhook URL given to --webhook is wrong, revoked or its channel was archived; "
                f"copy a current one from {where}"
            )
        elif error.status == 501 and product == "Mattermost":
            advice = "incoming webhooks are disabled on this Mattermost server; a system admin enables them"
        else:
            advice = f"{product} rejected the payload itself; please report it as a bug, with the event"
        raise CliError(
            f"{product} refused the message (HTTP {error.status}): {advice}", EXIT_DELIVERY
        ) from error
    except DeliveryError as error:
        last = f"HTTP {error.status}" if error.status else "no answer"
        raise CliError(
            f"{webhook.product} did not take the message after {error.attempts} attempt(s) (last: {last}); "
            "nothing was posted, try again later",
            EXIT_DELIVERY,
        ) from error


def _no_secrets(region: str | None) -> Any:
    raise AssertionError("the local preview never reads Secrets Manager")


def _color_choice(choice: str, stream: TextIO, environ: Mapping[str, str]) -> tuple[bool, bool]:
    """Whether to colour, and whether 24-bit colour is known to work (``COLORTERM``).

    ``auto`` follows https://no-color.org: a non-empty ``NO_COLOR`` turns colour off; an explicit
    ``--color always`` or ``never`` wins over it.
    """
    truecolor = environ.get("COLORTERM", "").lower() in ("truecolor", "24bit")
    if choice != "auto":
        return choice == "always", truecolor
    wanted = stream.isatty() and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"
    return wanted, truecolor


def _print(
    title: str, captured: Captured, *, flavor: Flavor, json_only: bool, color: bool, truecolor: bool
) -> None:
    """Print one captured message: the default destination's payload as it always was; a named
    destination's under its name (``--json``: ``{"destination": ..., "payload": ...}``, or
    ``"method"`` and ``"arguments"`` for a Slack app's API call)."""
    destination, payload = captured.destination, captured.payload
    named = destination is not DEFAULT
    if json_only:
        if not named:
            print(json.dumps(payload, ensure_ascii=False))
        elif captured.method:
            line = {"destination": destination.name, "method": captured.method, "arguments": payload}
            print(json.dumps(line, ensure_ascii=False))
        else:
            print(json.dumps({"destination": destination.name, "payload": payload}, ensure_ascii=False))
        return
    heading = f"{title} → {destination.name} ({destination.type.value})" if named else title
    print(f"\n══ {heading} " + "═" * max(0, 70 - len(heading)))
    if captured.method:
        _print_api_call(captured, color=color, truecolor=truecolor)
        return
    mattermost = (destination.flavor if named else flavor) is Flavor.MATTERMOST
    if not mattermost:  # the terminal view reads Slack's mrkdwn
        print(describe(payload, color=color, truecolor=truecolor))
    print("\nMattermost payload:" if mattermost else "\nSlack payload:")
    print(json.dumps(payload, ensure_ascii=False, indent=2))
    link = None if mattermost else block_kit_builder_url(payload)
    if link:
        print(f"\nOpen in Block Kit Builder: {link}")


def _print_api_call(captured: Captured, *, color: bool, truecolor: bool) -> None:
    """A Slack app's call: which method, where (a thread's reply says so), and the message it carries."""
    arguments = captured.payload
    where = arguments.get("channel") or arguments.get("users") or ""
    thread = f", a reply in the thread of {arguments['thread_ts']}" if arguments.get("thread_ts") else ""
    print(f"{captured.method} {where}{thread}")
    if captured.method == "conversations.open":
        return
    attachments = arguments.get("attachments")
    message = {
        "text": arguments.get("text", ""),
        "attachments": json.loads(attachments) if isinstance(attachments, str) else attachments or [],
    }
    print(describe(message, color=color, truecolor=truecolor))
    print("\nSlack Web API arguments:")
    print(json.dumps(arguments, ensure_ascii=False, indent=2))


#: The chat demo's steps (handler/demos/chat.py); each must end as expected for ``make demo`` to pass.
CHAT_DEMO_STEPS = 5


def _run_demo(arguments: argparse.Namespace, settings: PreviewSettings, pipeline_log: PipelineLog) -> int:
    if arguments.repo or arguments.ref or arguments.event or arguments.repository_arn:
        raise CliError(
            "--demo builds its own repository; leave out EVENT, --repo, --ref and --repository-arn",
            EXIT_USAGE,
        )
    with tempfile.TemporaryDirectory(prefix="codecommit-slack-demo-") as directory:
        repo = Path(directory) / DEMO_REPOSITORY_ARN.rsplit(":", 1)[1]
        init_demo_repository(repo)
        print(
            f"Demo repository at {repo}: {DEMO_PUSH_COUNT} trigger events, each push made with git and "
            "then run through handler.app.process_event exactly as the Lambda does (reading commits "
            "with git, posting to a capture webhook on 127.0.0.1); one event is a redelivery.",
            file=sys.stderr if arguments.json else sys.stdout,
        )
        first_events: list[dict[str, Any]] = []

        def keep_first(event: dict[str, Any]) -> dict[str, Any]:
            if not first_events:
                first_events.append(event)
            return event

        events = (  # lazily: each push is made only after the one before it was previewed
            (f"push {index}/{DEMO_PUSH_COUNT}: {push.title}", keep_first(push.event))
            for index, push in enumerate(demo_pushes(repo), start=1)
        )
        state = SQLiteStore(Path(directory) / "state.sqlite3")
        status = _preview(events, arguments, settings, pipeline_log=pipeline_log, repo=str(repo), state=state)
        from handler.demos.pull_requests import run_pull_request_demo as play  # a pull request's life

        played = play(sys.stdout, json_only=arguments.json)
        from handler.demos.delivery import run_destinations_demo  # the same, routed to three places

        routed = run_destinations_demo(
            sys.stdout,
            push_event=first_events[0],
            reader_for=_reader_factory(arguments, str(repo), settings.function),
            json_only=arguments.json,
        )
        from handler.demos.gitlab import run_gitlab_demo  # a merge request's life from GitLab webhooks

        from_gitlab = run_gitlab_demo(sys.stdout, json_only=arguments.json)
        from handler.demos.chat import run_chat_demo  # review from Slack: buttons, a click, a reply

        chatted = run_chat_demo(sys.stdout, json_only=arguments.json)
        from handler.demos.pipelines import run_pipeline_demo  # a deploy from chat, a run's life

        shipped = run_pipeline_demo(sys.stdout, json_only=arguments.json)
    everything = played and routed and from_gitlab and chatted == CHAT_DEMO_STEPS and shipped
    return status or (EXIT_OK if everything else EXIT_DROPPED)


if __name__ == "__main__":
    raise SystemExit(main())
