"""The stack's configuration: CDK context (``cdk.json``, or ``-c key=value``), validated at synth.

Every key is documented in the README's "Configuration" section. A value given with ``-c`` arrives
as a string, so lists also accept ``a,b,c`` and objects accept JSON text. Each problem is reported
with the key's name and what to write instead; all problems are reported at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from handler.model import IdentityMatch
from handler.routing import RoutingError, parse_routing, routes_by_dead_names, self_named_filters
from handler.settings import (
    ReviewReminders,
    Settings,
    ascii_whole_number,
    read_settings,
    review_reminders,
    setting_specs,
)

_REPOSITORY_NAME = re.compile(r"[\w.-]{1,100}")  # the service model's pattern, [\w.-]+
_TRIGGER_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}", re.ASCII)
_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+", re.ASCII)
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}", re.ASCII)
#: The retention periods CloudWatch Logs accepts, in days, with CDK's ``RetentionDays`` member names.
LOG_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}
MAX_TRIGGER_BRANCHES = 10
#: ``repositories`` set to this watches every repository of the account and region (see README).
ALL_REPOSITORIES = "*"

#: Context keys that become the function's environment: every handler setting that names one
#: (``handler/settings.py`` declares them; a new one needs no change here).
HANDLER_SETTINGS = {spec.context: spec.variable for spec in setting_specs() if spec.context}
#: The context keys that together become ``ROUTES`` (``{"routes": [...], "filters": [...]}``).
ROUTING_KEYS = ("routes", "filters")


class StackConfigError(ValueError):
    """The CDK context holds values the stack cannot be built from."""


@dataclass(frozen=True)
class NotifierConfig:
    """What the stack is built from. See the README for every key."""

    repositories: tuple[str, ...] = ()
    #: ``repositories: "*"``: every repository of the account and region, and those created later.
    watch_all: bool = False
    create_repository: str | None = None
    branches: tuple[str, ...] = ()
    webhook_secret: str | None = None
    webhook_secret_kms_key_arn: str | None = None
    trigger_name: str = "slack-notifier"
    log_retention_days: int = 30
    reserved_concurrency: int | None = None
    alarm_topic_arn: str | None = None
    function_timeout_seconds: int = 90
    handler_environment: dict[str, str] = field(default_factory=dict)
    #: What the stack deploys but the operator should hear about at synth (the stack prints each
    #: as a CDK warning): filters that silence an actor by a name the actor chooses.
    warnings: tuple[str, ...] = ()

    @property
    def watched_repositories(self) -> tuple[str, ...]:
        """Every repository the notifier reads: the existing ones and the one it creates."""
        created = (self.create_repository,) if self.create_repository else ()
        return self.repositories + created

    @property
    def review_reminders(self) -> ReviewReminders | None:
        """``review_reminders``, validated at synth (None: no schedule)."""
        text = self.handler_environment.get("REVIEW_REMINDERS")
        return review_reminders(text) if text else None

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> NotifierConfig:
        """Build from a context getter (``node.try_get_context``); raise listing every problem."""
        problems: list[str] = []

        def check(ok: bool, message: str) -> None:
            if not ok:
                problems.append(message)

        repositories = _names(get("repositories"))
        watch_all = ALL_REPOSITORIES in repositories
        check(
            not watch_all or repositories == (ALL_REPOSITORIES,),
            'repositories: "*" watches every repository; write it alone, not in a list with names',
        )
        if watch_all:
            repositories = ()
        create_repository = _optional_text(get("create_repository"))
        for name in repositories + ((create_repository,) if create_repository else ()):
            check(
                bool(_REPOSITORY_NAME.fullmatch(name)) and name not in (".", ".."),
                f"repository name {name!r} is invalid: 1-100 letters, digits, '.', '_' or '-'",
            )
        check(
            bool(watch_all or repositories or create_repository),
            'no repository to watch: set "repositories": ["my-repo"] (or "*" for all) or '
            '"create_repository": "new-repo"',
        )
        check(len(set(repositories)) == len(repositories), "repositories lists a repository twice")
        check(create_repository not in repositories, "create_repository is also listed in repositories")

        branches = _names(get("branches"))
        check(
            len(branches) <= MAX_TRIGGER_BRANCHES,
            f"branches lists {len(branches)}; a CodeCommit trigger takes at most {MAX_TRIGGER_BRANCHES}",
        )

        webhook_secret = _optional_text(get("webhook_secret"))
        if webhook_secret:
            check(
                bool(_ARN.fullmatch(webhook_secret) or _SECRET_NAME.fullmatch(webhook_secret)),
                f"webhook_secret {webhook_secret!r} is neither a secret name nor a secret ARN",
            )
        kms_key = _optional_text(get("webhook_secret_kms_key_arn"))
        check(
            kms_key is None or bool(_ARN.fullmatch(kms_key)),
            "webhook_secret_kms_key_arn must be a KMS key ARN",
        )
        alarm_topic = _optional_text(get("alarm_topic_arn"))
        check(
            alarm_topic is None or bool(_ARN.fullmatch(alarm_topic)),
            "alarm_topic_arn must be an SNS topic ARN",
        )

        trigger_name = _optional_text(get("trigger_name")) or cls.trigger_name
        check(
            bool(_TRIGGER_NAME.fullmatch(trigger_name)),
            "trigger_name must be 1-100 letters, digits, '.', '_' or '-' (no spaces or commas)",
        )

        retention = _integer(get("log_retention_days"), 30, problems, "log_retention_days")
        check(retention in LOG_RETENTION, f"log_retention_days must be one of {sorted(LOG_RETENTION)}")
        concurrency_raw = get("reserved_concurrency")
        concurrency = None
        if concurrency_raw not in (None, "", "none", "null"):
            concurrency = _integer(concurrency_raw, 1, problems, "reserved_concurrency")
            check(1 <= concurrency <= 1000, "reserved_concurrency must be between 1 and 1000, or null")
        timeout = _integer(get("function_timeout_seconds"), 90, problems, "function_timeout_seconds")
        check(30 <= timeout <= 900, "function_timeout_seconds must be between 30 and 900")

        environment = _handler_environment(get, problems)
        check(
            not (watch_all and "REVIEW_REMINDERS" in environment),
            'review_reminders needs the repositories named: with repositories "*" the notifier does not '
            "know which ones to read; list them in repositories",
        )
        warnings = tuple(_identity_warnings(environment)) if not problems else ()
        if problems:
            raise StackConfigError("invalid CDK context (cdk.json or -c):\n  - " + "\n  - ".join(problems))
        return cls(
            repositories=repositories,
            watch_all=watch_all,
            create_repository=create_repository,
            branches=branches,
            webhook_secret=webhook_secret,
            webhook_secret_kms_key_arn=kms_key,
            trigger_name=trigger_name,
            log_retention_days=retention,
            reserved_concurrency=concurrency,
            alarm_topic_arn=alarm_topic,
            function_timeout_seconds=timeout,
            handler_environment=environment,
            warnings=warnings,
        )


def _handler_environment(get: Callable[[str], Any], problems: list[str]) -> dict[str, str]:
    """Handler settings from context, checked with the handler's own parsers, named by context key.

    Objects and lists become compact JSON: the function's whole environment must fit in 4 KB.
    """
    environment: dict[str, str] = {}
    for key, variable in HANDLER_SETTINGS.items():
        value = get(key)
        if value not in (None, ""):
            environment[variable] = value if isinstance(value, str) else _compact(value)
    context_key = {variable: key for key, variable in HANDLER_SETTINGS.items()}
    values, found = read_settings(Settings, environment.get, lambda spec: context_key[spec.variable])
    problems.extend(found)
    # Route targets are checked against the declared destinations, unless those are invalid
    # themselves (already reported above; a second report per route would only add noise).
    declared = (
        None
        if "DESTINATIONS" in environment and "destinations" not in values
        else values.get("destinations", {})
    )
    routes = _routes(get, declared, problems)
    if routes is not None:
        environment["ROUTES"] = routes
    return environment


def _routes(get: Callable[[str], Any], declared: Collection[str] | None, problems: list[str]) -> str | None:
    """``ROUTES`` from the ``routes`` and ``filters`` keys, checked by ``handler.routing``; None if unset.

    Each problem is reported by its path, which starts with the key (``routes[1].events[0]: ...``).
    """
    document: dict[str, Any] = {}
    for key in ROUTING_KEYS:
        value = get(key)
        if value in (None, ""):
            continue
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as error:
                problems.append(
                    f'{key} is not valid JSON ({error}); write a list like [{{"refs": ["main"]}}]'
                )
                continue
        document[key] = value
    if not document:
        return None
    try:
        parse_routing(document, known_destinations=declared)
    except RoutingError as error:
        problems.extend(error.problems)
        return None
    return _compact(document)


def _identity_warnings(environment: dict[str, str]) -> list[str]:
    """ROUTES filters that drop actors by self-chosen names, under the IDENTITY_MATCH deployed.

    Read with the function's own parsers (the values were checked already), so the warning is
    about exactly what the function will do (docs/security.md, "Who is who").
    """
    routes_text = environment.get("ROUTES")
    if not routes_text:
        return []
    routing = parse_routing(json.loads(routes_text), known_destinations=None)
    mode = IdentityMatch.parse(environment.get("IDENTITY_MATCH") or IdentityMatch.ARN.value)
    found = self_named_filters(routing, mode) + routes_by_dead_names(routing, mode)
    return [f"{problem} (identity_match is {mode.value})" for problem in found]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _names(value: Any) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else value.split(",")
    return tuple(str(item).strip() for item in value if str(item).strip())


def _optional_text(value: Any) -> str | None:
    if value in (None, "", "none", "null"):
        return None
    return str(value).strip()


def _integer(value: Any, default: int, problems: list[str], key: str) -> int:
    """A whole number from context: a JSON integer (``cdk.json``) or ASCII digits (``-c key=10``)."""
    if value in (None, ""):
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError("not a JSON integer or text")
        return ascii_whole_number(value.strip())
    except ValueError:
        problems.append(f"{key} must be a whole number written with the digits 0-9 only, got {value!r}")
        return default
