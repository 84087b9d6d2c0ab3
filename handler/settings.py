"""Settings read from the environment once per container, validated with errors that say what to fix.

Every variable is listed in the README's configuration table. Rendering settings are a frozen
:class:`RenderSettings` handed to the pure renderer, which never reads the environment itself.

Each setting is declared once, as a field whose metadata says how it is read
(:func:`setting`): its environment variable, its parser with its limits, and the CDK context key
that sets it at deploy time, if any. Adding a setting is adding that one line::

    state_table_name: str | None = setting("STATE_TABLE_NAME", optional_text, None, context="state_table")

:meth:`Settings.from_environ` reads them all and reports every problem at once, each named by
its variable; the stack (``cdk/config.py``) checks the same fields against the context at synth,
with the same parsers, naming each problem by its context key.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Self

from handler.deliver.destinations import DestinationMap, Flavor, parse_destinations_text, parse_flavor
from handler.deliver.webhook import SECRET_BEARING_LOGGERS
from handler.errors import ConfigurationError
from handler.model import IdentityMatch

if TYPE_CHECKING:  # handler.routing is imported only where ROUTES is set (a cold start without it skips it)
    from handler.routing import Routing

#: The original design's colours: develop yellow, main and master red, everything else purple.
DEFAULT_COLORS: tuple[tuple[str, str], ...] = (
    ("develop", "#FFE400"),
    ("main", "#FF0000"),
    ("master", "#FF0000"),
    ("*", "#5F00FF"),
)
FALLBACK_COLOR = "#5F00FF"
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}", re.ASCII)

SLACK_MESSAGE_LIMIT = 40_000
SLACK_SECTION_LIMIT = 3_000


#: The levels LOG_LEVEL takes.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Libraries whose INFO lines are noise in the function's log; they follow LOG_LEVEL upwards, and
#: never go below INFO (the secret-bearing ones among them would log the webhook URL at DEBUG).
NOISY_LOGGERS = (*SECRET_BEARING_LOGGERS, "boto3", "s3transfer", "requests")


@dataclass(frozen=True)
class SettingSpec:
    """How one setting is read: from ``variable`` at run time, from ``context`` at synth."""

    variable: str
    parse: Callable[[str], Any]
    context: str | None


def setting(variable: str, parse: Callable[[str], Any], default: Any, *, context: str | None = None) -> Any:
    """Declare a settings field read from ``variable`` (and, at synth, from the ``context`` key).

    ``parse`` turns the variable's text into the value, or raises :class:`ValueError` with what a
    valid value looks like (the caller adds the name). An unset or blank variable gives ``default``.
    """
    spec = SettingSpec(variable, parse, context)
    if isinstance(default, (list, dict, set)):
        raise TypeError("a setting's default must be immutable")
    return field(default=default, metadata={"setting": spec})


#: What a number setting may be written as: ASCII digits, nothing else.
_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def ascii_whole_number(text: str) -> int:
    """``text`` as a non-negative integer written in ASCII digits only.

    ``int()`` also takes ``+5``, ``5_0`` and other scripts' digits (``١٠`` is 10), none of which a
    person means when they set a limit, and which would read differently in a shell, a template
    and a log line. Leading and trailing blanks are the caller's to strip.

    Raises:
        ValueError: saying what a valid value looks like.
    """
    if not _ASCII_DIGITS.fullmatch(text):
        raise ValueError(f"must be a whole number written with the digits 0-9 only, got {text!r}")
    return int(text)


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """A parser for an integer in ``[low, high]`` (ASCII digits only, see :func:`ascii_whole_number`)."""

    def parse(text: str) -> int:
        value = ascii_whole_number(text)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def seconds(low: int, high: int) -> Callable[[str], float]:
    """A parser for a whole number of seconds in ``[low, high]``, as a float."""
    parse_int = whole_number(low, high)
    return lambda text: float(parse_int(text))


def optional_text(text: str) -> str | None:
    """Any text; blank means unset."""
    return text.strip() or None


def level_name(text: str) -> str:
    """One of :data:`LOG_LEVELS`, in any case."""
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, got {text!r}")
    return level


_NAMESPACE = re.compile(r"[A-Za-z0-9 .\-_/#:]{1,255}", re.ASCII)


def metrics_namespace(text: str) -> str:
    """A CloudWatch namespace of our own: letters, digits and ``. - _ / # :``, not ``AWS/…``."""
    namespace = text.strip()
    if not _NAMESPACE.fullmatch(namespace) or namespace.startswith("AWS/"):
        raise ValueError(
            f"must be 1-255 letters, digits or . - _ / # : and not start with AWS/, got {text!r}"
        )
    return namespace


def on_off(text: str) -> bool:
    """``true``/``on``/``1`` or ``false``/``off``/``0``, in any case."""
    value = text.strip().lower()
    if value in ("true", "on", "1"):
        return True
    if value in ("false", "off", "0"):
        return False
    raise ValueError(f"must be true or false, got {text!r}")


def branch_colors(text: str) -> tuple[tuple[str, str], ...]:
    """``BRANCH_COLORS``: a JSON object of pattern → ``#RRGGBB``, replacing the defaults."""
    try:
        mapping = json.loads(text)
    except ValueError as error:
        example = '{"main": "#FF0000"}'
        raise ValueError(f"is not valid JSON ({error}); write an object like {example}") from None
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError('must be a JSON object like {"main": "#FF0000"}')
    for pattern, color in mapping.items():
        if not isinstance(color, str) or not _HEX_COLOR.fullmatch(color):
            raise ValueError(f"entry {pattern!r} must be a colour like #FF0000, got {color!r}")
    return tuple((str(pattern), color) for pattern, color in mapping.items())


def routes(text: str) -> Routing:
    """``ROUTES``: ``{"routes": [...], "filters": [...]}`` (``handler.routing``).

    The names in ``to`` are checked against ``DESTINATIONS`` afterwards, by
    :meth:`Settings.check_together`, since one parser sees one variable.
    """
    try:
        document = json.loads(text)
    except ValueError as error:
        example = '{"routes": [{"events": ["push"], "to": ["default"]}]}'
        raise ValueError(f"is not valid JSON ({error}); write an object like {example}") from None
    from handler.routing import parse_routing

    return parse_routing(document, known_destinations=None)


#: The actions ``CHAT_PERMISSIONS`` names (who may take them: ``handler/actions/permissions.py``).
ACTIONS = ("approve", "merge", "comment", "deploy", "rollback", "approve_deploy")


class Permissions(NamedTuple):
    """Action → identity globs (``fnmatch``, case-insensitive)."""

    grants: tuple[tuple[str, tuple[str, ...]], ...]

    def globs(self, action: str) -> tuple[str, ...]:
        """The globs allowed to take ``action`` (empty: nobody)."""
        return next((globs for name, globs in self.grants if name == action), ())


DEFAULT_PERMISSIONS = Permissions((("approve", ("*",)), ("comment", ("*",))))


def parse_chat_permissions(text: str) -> Permissions:
    """``CHAT_PERMISSIONS``; raises :class:`ValueError` saying what a valid value looks like."""
    example = '{"approve": ["*"], "comment": ["*"], "merge": ["lead@example.com"]}'
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValueError(f"is not valid JSON ({error}); write an object like {example}") from None
    if not isinstance(document, dict):
        raise ValueError(f"must be a JSON object like {example}")
    grants = []
    for action, globs in document.items():
        if action not in ACTIONS:
            raise ValueError(f"names {action[:40]!r}, not one of {', '.join(ACTIONS)}")
        if not isinstance(globs, list) or not all(isinstance(g, str) and g.strip() for g in globs):
            raise ValueError(f'{action} must be a list of identity globs like ["*"] or ["alice"]')
        grants.append((action, tuple(g.strip() for g in globs)))
    return Permissions(tuple(grants))


def role_arn(text: str) -> str:
    """An IAM role ARN (``arn:<partition>:iam::<account>:role/<name>``)."""
    value = text.strip()
    if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", value):
        raise ValueError(
            f"must be an IAM role ARN like arn:aws:iam::123456789012:role/Name, got {value[:80]!r}"
        )
    return value


def team_id(text: str) -> str:
    """A Slack workspace id (``T…``, as ``auth.test`` and every request's ``team_id`` give it)."""
    value = text.strip()
    if not re.fullmatch(r"[TE][A-Z0-9]{2,30}", value):
        raise ValueError(f"must be a Slack workspace id like T0123ABCD, got {value[:40]!r}")
    return value


def web_api_url(text: str) -> str:
    """``https://...`` ending in ``/``, or ``http://`` on loopback (tests, the demo)."""
    from urllib.parse import urlsplit

    value = text.strip()
    parts = urlsplit(value)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError(f"must be an https:// URL (http only on loopback), got {value[:80]!r}")
    return value if value.endswith("/") else value + "/"


#: A CodePipeline pipeline's name (CodePipeline's own rule: 1-100 of these characters).
_PIPELINE_NAME = re.compile(r"[A-Za-z0-9.@_-]{1,100}", re.ASCII)
#: What ``PIPELINE_EVENTS`` names: the pipeline messages that post (``handler/render/pipeline.py``).
#: ``fixed`` is a success after a failure of the same pipeline; ``approval`` is a manual approval
#: waiting, with its Approve / Reject buttons.
PIPELINE_EVENT_KINDS = ("started", "succeeded", "fixed", "failed", "stopped", "superseded", "approval")


def pipeline_names(text: str) -> frozenset[str]:
    """``PIPELINES``: a JSON list of pipeline names, like ``["web-deploy", "api-deploy"]``."""
    try:
        names = json.loads(text)
    except ValueError as error:
        raise ValueError(f'is not valid JSON ({error}); write a list like ["web-deploy"]') from None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError('must be a JSON list of pipeline names, like ["web-deploy"]')
    for name in names:
        if not _PIPELINE_NAME.fullmatch(name):
            allowed = "1-100 letters, digits, '.', '@', '_', '-'"
            raise ValueError(f"{name[:120]!r} is not a pipeline name ({allowed})")
    return frozenset(names)


def pipeline_event_kinds(text: str) -> frozenset[str]:
    """``PIPELINE_EVENTS``: comma-separated kinds (:data:`PIPELINE_EVENT_KINDS`), ``all``, ``-kind``.

    ``failed,fixed`` posts only failures and the first success after one; ``all,-started`` all but
    the starts.
    """
    kinds: set[str] = set()
    for token in (token.strip() for token in text.split(",")):
        if not token:
            continue
        name = token.removeprefix("-").strip()
        chosen = set(PIPELINE_EVENT_KINDS) if name == "all" else {name}
        if not chosen <= set(PIPELINE_EVENT_KINDS):
            raise ValueError(f"{name[:40]!r} is not one of all, {', '.join(PIPELINE_EVENT_KINDS)}")
        kinds = kinds - chosen if token.startswith("-") else kinds | chosen
    return frozenset(kinds)


class GitHubDispatchTarget(NamedTuple):
    """A ``github-dispatch`` deploy target: ``deploy <name>`` sends GitHub's ``repository_dispatch``.

    Attributes:
        repository: ``owner/name`` on GitHub.
        event_type: the ``event_type`` the workflow listens for (``on: repository_dispatch``).
    """

    repository: str
    event_type: str = "deploy"


_GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}", re.ASCII)


def deploy_targets(text: str) -> tuple[tuple[str, GitHubDispatchTarget], ...]:
    """``DEPLOY_TARGETS``: deploy names that are not pipelines, each a ``github-dispatch`` target.

    ``{"site": {"type": "github-dispatch", "repository": "acme/site", "event_type": "deploy"}}``
    """
    example = '{"site": {"type": "github-dispatch", "repository": "acme/site"}}'
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValueError(f"is not valid JSON ({error}); write an object like {example}") from None
    if not isinstance(document, dict):
        raise ValueError(f"must be a JSON object like {example}")
    targets = []
    for name, target in document.items():
        if not _PIPELINE_NAME.fullmatch(name):
            raise ValueError(
                f"{name[:60]!r} is not a deploy name (1-100 letters, digits, '.', '@', '_', '-')"
            )
        if not isinstance(target, dict) or target.get("type") != "github-dispatch":
            raise ValueError(f'{name}: "type" must be "github-dispatch"; write {example}')
        unknown = set(target) - {"type", "repository", "event_type"}
        if unknown:
            raise ValueError(
                f"{name}: unknown keys {sorted(unknown)}; the keys are type, repository, event_type"
            )
        repository, event_type = target.get("repository"), target.get("event_type", "deploy")
        if not isinstance(repository, str) or not _GITHUB_REPOSITORY.fullmatch(repository):
            raise ValueError(f'{name}: "repository" must be a GitHub "owner/name", got {repository!r}')
        if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
            raise ValueError(f'{name}: "event_type" must be 1-100 characters, got {event_type!r}')
        targets.append((name, GitHubDispatchTarget(repository, event_type)))
    return tuple(targets)


#: EventBridge Scheduler's cron form: ``cron(minutes hours day-of-month month day-of-week year)``.
_SCHEDULER_CRON = re.compile(r"cron\(([^()]*)\)")
_CRON_EXAMPLE = "cron(0 9 ? * MON-FRI *)"
_REPOSITORY_NAME = re.compile(r"[\w.-]{1,100}")
#: The keys of the ``review_reminders`` context object (``REVIEW_REMINDERS``).
REMINDER_KEYS = ("schedule", "timezone", "min_age_hours", "to")


class ReviewReminders(NamedTuple):
    """``review_reminders``: when the digest of pull requests waiting for review is sent, and where.

    Attributes:
        schedule: an EventBridge Scheduler cron expression (``cron(0 9 ? * MON-FRI *)``).
        timezone: the IANA time zone the schedule runs in and "once a day" counts days in.
        min_age_hours: a pull request younger than this is left out (its reviewers were just told).
        to: the destinations that get the digest (``default`` or names from ``DESTINATIONS``).
    """

    schedule: str
    timezone: str = "UTC"
    min_age_hours: int = 24
    to: tuple[str, ...] = ("default",)


def _cron(value: object) -> str:
    if not isinstance(value, str) or not (match := _SCHEDULER_CRON.fullmatch(value.strip())):
        raise ValueError(f"schedule must be an EventBridge Scheduler cron expression like {_CRON_EXAMPLE!r}")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise ValueError(
            f"schedule {value!r} has {len(fields)} fields; EventBridge Scheduler's cron takes six "
            f"(minutes hours day-of-month month day-of-week year), like {_CRON_EXAMPLE!r}"
        )
    if (fields[2] == "?") == (fields[4] == "?"):
        raise ValueError(
            f"schedule {value!r}: exactly one of day-of-month and day-of-week must be '?', "
            f"like {_CRON_EXAMPLE!r}"
        )
    return f"cron({' '.join(fields)})"


def time_zone(value: object) -> str:
    """An IANA time zone name (``Europe/Berlin``), checked against zoneinfo's data."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(value, str) or not value.strip():
        raise ValueError("timezone must be an IANA time zone name like 'Europe/Berlin' or 'UTC'")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone {value[:60]!r} is not an IANA time zone name like 'Europe/Berlin'"
        ) from None
    return value.strip()


def review_reminders(text: str) -> ReviewReminders:
    """``REVIEW_REMINDERS``: the ``review_reminders`` object (keys in :data:`REMINDER_KEYS`), as JSON.

    The names in ``to`` are checked against ``DESTINATIONS`` by :meth:`Settings.check_together`.
    """
    example = '{"schedule": "cron(0 9 ? * MON-FRI *)", "timezone": "Europe/Berlin"}'
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise ValueError(f"is not valid JSON ({error}); write an object like {example}") from None
    if not isinstance(raw, dict) or "schedule" not in raw:
        raise ValueError(f"must be an object with at least a schedule, like {example}")
    unknown = sorted(set(raw) - set(REMINDER_KEYS))
    if unknown:
        raise ValueError(
            f"has unknown keys {', '.join(map(repr, unknown))}; the keys are {', '.join(REMINDER_KEYS)}"
        )
    age = raw.get("min_age_hours", 24)
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 720:
        raise ValueError(f"min_age_hours must be a whole number of hours from 0 to 720, got {age!r}")
    to = raw.get("to", ["default"])
    if isinstance(to, str):
        to = [to]
    if (
        not isinstance(to, list)
        or not to
        or not all(isinstance(name, str) and name.strip() for name in to)
        or len(set(to)) != len(to)
    ):
        raise ValueError('to must be a list of destination names, each once, like ["default"] or ["reviews"]')
    return ReviewReminders(
        schedule=_cron(raw["schedule"]),
        timezone=time_zone(raw.get("timezone", "UTC")),
        min_age_hours=age,
        to=tuple(name.strip() for name in to),
    )


def repository_names(text: str) -> tuple[str, ...]:
    """``WATCHED_REPOSITORIES``: comma-separated repository names (or a JSON list of them), or
    ``*`` for every repository of the account and region, as the stack sets it."""
    names = json.loads(text) if text.strip().startswith("[") else text.split(",")
    if not isinstance(names, list):
        raise ValueError('must be repository names like "payments,ledger"')
    found = tuple(str(name).strip() for name in names if str(name).strip())
    for name in found:
        if name != "*" and (not _REPOSITORY_NAME.fullmatch(name) or name in (".", "..")):
            raise ValueError(
                f"names {name[:60]!r}, not a repository name (1-100 letters, digits, '.', '_' or '-')"
            )
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class RenderSettings:
    """What the renderer may vary. The defaults are what the deployed stack uses.

    Attributes:
        colors: ``(pattern, colour)`` pairs. A pattern matches a branch's short name
            (``develop``, ``release/*``) or, when it starts with ``refs/``, the full ref name
            (``refs/tags/*``). An exact name wins over a glob; globs are tried in order.
        max_files: changed paths listed per parent diff before "and N more files".
        max_body_chars: characters of the commit message body shown before it is cut.
        max_refs: references shown in full in one message; the rest are listed by name.
        max_commits: commits listed for a push before "… and N more commits".
        message_limit: characters (UTF-16 code units) in the whole message, at most 40,000.
        section_limit: characters in one attachment's text, at most 3,000.
    """

    colors: tuple[tuple[str, str], ...] = setting(
        "BRANCH_COLORS", branch_colors, DEFAULT_COLORS, context="branch_colors"
    )
    max_files: int = setting("MAX_FILES_PER_DIFF", whole_number(1, 500), 20, context="max_files_per_diff")
    max_body_chars: int = setting(
        "MAX_BODY_CHARS", whole_number(0, SLACK_SECTION_LIMIT), 800, context="max_body_chars"
    )
    max_refs: int = setting("MAX_REFS_PER_MESSAGE", whole_number(1, 20), 10, context="max_refs_per_message")
    max_commits: int = setting("MAX_COMMITS_LISTED", whole_number(1, 50), 10, context="max_commits_listed")
    message_limit: int = setting(
        "MAX_MESSAGE_CHARS",
        whole_number(2_000, SLACK_MESSAGE_LIMIT),
        SLACK_MESSAGE_LIMIT,
        context="max_message_chars",
    )
    section_limit: int = setting(
        "MAX_SECTION_CHARS", whole_number(500, SLACK_SECTION_LIMIT), SLACK_SECTION_LIMIT
    )

    def color_for(self, full_ref: str, short_name: str) -> str:
        """The colour of a reference's attachment bar."""
        for pattern, color in self.colors:
            if pattern in (short_name, full_ref):
                return color
        for pattern, color in self.colors:
            subject = full_ref if pattern.startswith("refs/") else short_name
            if any(char in pattern for char in "*?[") and fnmatch.fnmatchcase(subject, pattern):
                return color
        return FALLBACK_COLOR


@dataclass(frozen=True)
class Settings:
    """Everything the function reads from its environment (one line per setting, see the module)."""

    render: RenderSettings = field(default_factory=RenderSettings)
    webhook_url: str | None = setting("SLACK_WEBHOOK_URL", optional_text, None)
    webhook_secret_arn: str | None = setting("SLACK_WEBHOOK_SECRET_ARN", optional_text, None)
    delivery_max_attempts: int = setting(
        "DELIVERY_MAX_ATTEMPTS", whole_number(1, 20), 5, context="delivery_max_attempts"
    )
    slack_timeout_seconds: float = setting("SLACK_TIMEOUT_SECONDS", seconds(1, 60), 10.0)
    codecommit_max_attempts: int = setting("CODECOMMIT_MAX_ATTEMPTS", whole_number(1, 20), 5)
    codecommit_timeout_seconds: float = setting("CODECOMMIT_TIMEOUT_SECONDS", seconds(1, 60), 10.0)
    log_level: str = setting("LOG_LEVEL", level_name, "INFO", context="log_level")
    #: Commits read at most per branch push when listing what it added (one API call each on a
    #: linear history, since CodeCommit has no log API); past it the counts are lower bounds.
    max_commits_read: int = setting("MAX_COMMITS_READ", whole_number(1, 500), 50, context="max_commits_read")
    #: The DynamoDB state table the stack creates; None: marks in memory only, no commit lists.
    state_table_name: str | None = setting("STATE_TABLE_NAME", optional_text, None)
    #: The default destination's dialect; None: detected from its URL (``detect_flavor``).
    destination_flavor: Flavor | None = setting(
        "DESTINATION_FLAVOR", parse_flavor, None, context="destination_flavor"
    )
    #: Named destinations besides ``default`` (their URLs and tokens are in the secret).
    destinations: DestinationMap = setting(
        "DESTINATIONS", parse_destinations_text, DestinationMap(), context="destinations"
    )
    #: Which events go where; None (unset): everything to ``default``.
    routing: Routing | None = setting("ROUTES", routes, None)
    #: The CloudWatch namespace the function's metrics are published in (handler/metrics.py).
    metrics_namespace: str = setting(
        "METRICS_NAMESPACE", metrics_namespace, "CodeCommitNotifier", context="metrics_namespace"
    )
    #: A repository dimension on the outcome metrics: one billed metric per repository name.
    metrics_by_repository: bool = setting(
        "METRICS_BY_REPOSITORY", on_off, False, context="metrics_by_repository"
    )
    #: The pipelines whose runs, builds and approval gates are reported and which the chat's
    #: ``deploy``/``status``/``rollback`` may name; any other pipeline is unknown to both.
    pipelines: frozenset[str] = setting("PIPELINES", pipeline_names, frozenset(), context="pipelines")
    #: Deploy names that send GitHub's ``repository_dispatch`` instead of starting a pipeline.
    deploy_targets: tuple[tuple[str, GitHubDispatchTarget], ...] = setting(
        "DEPLOY_TARGETS", deploy_targets, (), context="deploy_targets"
    )
    #: GitHub's REST API base for ``github-dispatch`` (https only, but for loopback stand-ins).
    github_api_url: str = setting("GITHUB_API_URL", optional_text, "https://api.github.com")
    #: Which pipeline messages post (``PIPELINE_EVENTS``; unset: every kind).
    pipeline_events: frozenset[str] = setting(
        "PIPELINE_EVENTS", pipeline_event_kinds, frozenset(PIPELINE_EVENT_KINDS), context="pipeline_events"
    )
    #: Chat (``handler.chat``, docs/chat.md): who may do what from Slack (action → identity globs).
    chat_permissions: Permissions = setting("CHAT_PERMISSIONS", parse_chat_permissions, DEFAULT_PERMISSIONS)
    #: Chat: the role actions run as, assumed with the person's session name (the stack's output).
    chat_actor_role_arn: str | None = setting("CHAT_ACTOR_ROLE_ARN", role_arn, None)
    #: Chat: the one Slack workspace served (``T…``); a request from another is answered 403.
    slack_team_id: str | None = setting("SLACK_TEAM_ID", team_id, None)
    #: The Slack Web API base for every Web API call (loopback http for tests and the demo).
    slack_api_url: str = setting("SLACK_API_URL", web_api_url, "https://slack.com/api/")
    #: Chat: the repositories a click may act on (the stack's; ``*``: every one of the account and region).
    watched_repositories: tuple[str, ...] = setting("WATCHED_REPOSITORIES", repository_names, ())
    #: The review-reminder digest (docs/reminders.md); None: no reminders.
    review_reminders: ReviewReminders | None = setting(
        "REVIEW_REMINDERS", review_reminders, None, context="review_reminders"
    )
    #: What USER_MAP keys and ROUTES actor globs match: full ARNs only (the default), or also the
    #: names and e-mails a role's session chooses for itself (docs/security.md, "Who is who").
    identity_match: IdentityMatch = setting(
        "IDENTITY_MATCH", IdentityMatch.parse, IdentityMatch.ARN, context="identity_match"
    )

    @property
    def routes_in_force(self) -> Routing | None:
        """The routing to apply: None when ``ROUTES`` is unset or names no route and no filter,
        so every event goes to ``default`` without consulting :mod:`handler.routing`. Its actor
        globs match what ``IDENTITY_MATCH`` allows."""
        routing = self.routing
        if routing is None or not (routing.routes or routing.filters):
            return None
        return dataclasses.replace(routing, identity_match=self.identity_match)

    @staticmethod
    def check_together(
        values: Mapping[str, Any], failed: frozenset[str], name: Callable[[str], str]
    ) -> list[str]:
        """Problems across settings: every route's and the reminders' ``to`` names a declared
        destination or ``default``.

        Args:
            values: the parsed values by field name (unset fields are absent).
            failed: the fields whose own parse failed (already reported; not checked again).
            name: how a field's setting is named in a problem (its variable or context key).
        """
        if "destinations" in failed:
            return []
        declared = values.get("destinations", {})
        reminders = values.get("review_reminders")
        problems = [
            f"{name('review_reminders')} to names {target!r}, which is neither default nor declared in "
            f"{name('destinations')}"
            for target in (reminders.to if reminders is not None else ())
            if target != "default" and target not in declared
        ]
        routing = values.get("routing")
        if routing is None:
            return problems
        from handler.routing import unknown_destinations

        return problems + [
            f"{name('routing')} {problem}"
            for problem in unknown_destinations(routing, declared, declared_in=name("destinations"))
        ]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        """Read and validate every setting.

        Raises:
            ConfigurationError: listing every invalid variable, each by its name.
        """
        values, problems = read_settings(cls, environ.get, lambda spec: spec.variable)
        if problems:
            raise ConfigurationError("invalid settings: " + "; ".join(problems))
        return cls(**values)


def setting_specs(cls: type = Settings) -> Iterator[SettingSpec]:
    """Every setting of ``cls`` and of the settings dataclasses nested in it."""
    for item in dataclasses.fields(cls):
        spec = item.metadata.get("setting")
        if spec is not None:
            yield spec
        elif isinstance(item.type, str) and item.type in _NESTED:
            yield from setting_specs(_NESTED[item.type])


def read_settings(
    cls: type, get: Callable[[str], Any], name_of: Callable[[SettingSpec], str]
) -> tuple[dict[str, Any], list[str]]:
    """Parse every setting of ``cls`` from ``get(variable)``; return the values and the problems.

    Each problem starts with ``name_of(spec)``, so the stack can name context keys and the
    function environment variables. A class with a ``check_together`` static method (see
    :meth:`Settings.check_together`) also gets the problems that span several settings.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    failed: set[str] = set()
    specs: dict[str, SettingSpec] = {}
    for item in dataclasses.fields(cls):
        spec: SettingSpec | None = item.metadata.get("setting")
        if spec is None:
            nested = _NESTED.get(item.type) if isinstance(item.type, str) else None
            if nested is not None:
                nested_values, nested_problems = read_settings(nested, get, name_of)
                problems += nested_problems
                values[item.name] = nested(**nested_values)
            continue
        specs[item.name] = spec
        raw = get(spec.variable)
        text = "" if raw is None else str(raw).strip()
        if not text:
            continue
        try:
            values[item.name] = spec.parse(text)
        except ValueError as error:
            problems.append(f"{name_of(spec)} {error}")
            failed.add(item.name)
    check_together = getattr(cls, "check_together", None)
    if check_together is not None:
        problems += check_together(values, frozenset(failed), lambda name: name_of(specs[name]))
    return values, problems


_NESTED: dict[str, type] = {"RenderSettings": RenderSettings}


def parse_colors(text: str) -> tuple[tuple[str, str], ...]:
    """Parse ``BRANCH_COLORS`` (blank: the defaults).

    Raises:
        ConfigurationError: naming BRANCH_COLORS and what is wrong.
    """
    if not text.strip():
        return DEFAULT_COLORS
    try:
        return branch_colors(text)
    except ValueError as error:
        raise ConfigurationError(f"BRANCH_COLORS {error}") from error


def apply_log_level(level: str, root: logging.Logger | None = None) -> None:
    """Set the function's log level, so that ``ERROR`` means only errors are written.

    The root logger gets ``level``. The libraries in :data:`NOISY_LOGGERS` get ``level`` too but
    never less than INFO: their INFO lines go away at WARNING and above, and the secret-bearing
    ones (:data:`SECRET_BEARING_LOGGERS`) never log at DEBUG, whatever ``level`` says, because
    their debug lines would print the webhook URL and the secret.

    Args:
        level: one of :data:`LOG_LEVELS` (as :attr:`Settings.log_level` holds it); anything else
            counts as INFO.
        root: the logger to set (the root logger if None).
    """
    number = (
        logging.getLevelName(level.strip().upper()) if level.strip().upper() in LOG_LEVELS else logging.INFO
    )
    (root or logging.getLogger()).setLevel(number)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(number, logging.INFO))
