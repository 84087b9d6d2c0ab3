"""Routing: which destinations an event goes to, from ``ROUTES`` (pure: no I/O, no environment).

``ROUTES`` is one JSON object::

    {"routes": [{"repositories": ["payments-*"], "refs": ["main"], "events": ["push"], "to": ["payments"]},
                {"events": ["pull_request", "comment", "approval"], "to": ["reviews"]}],
     "filters": [{"actors": ["ci-*"]}]}

Each event is first reduced to a :class:`Subject` (repository, short ref name, :class:`EventKind`,
the actor's names; for a pipeline event, its pipeline's name). A filter that matches drops it;
otherwise it goes to the union of the ``to`` lists of every route that matches, each destination
once, in order of first mention; when no route matches it goes to the ``default`` destination if
one is configured, and is dropped otherwise.
Every :class:`Decision` carries the reason, for the log line.

A :class:`Match` matches when every key it has matches (a missing key matches anything); within a
key any glob matches. Globs are :func:`fnmatch.fnmatchcase`: case-sensitive, ``*`` also crosses
``/`` (``release/*`` matches ``release/2026/11``). A key that needs a ref matches nothing when the
ref is unknown (a commit comment, a pull request whose destination was not read).
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handler.model import IdentityMatch, PushRouting
from handler.problems import DocumentError, Problems, describe, did_you_mean, path_of

if TYPE_CHECKING:
    from handler.model import PipelineRun, Push, RefChange
    from handler.pull_requests.model import Activity, Identity, PullRequestSnapshot

__all__ = [
    "DEFAULT_DESTINATION",
    "Decision",
    "EventKind",
    "Match",
    "Outcome",
    "Route",
    "Routing",
    "RoutingError",
    "Subject",
    "parse_routing",
    "route",
    "route_push",
    "subject_for_activity",
    "subject_for_pipeline",
    "subject_for_pipeline_run",
    "subject_for_ref_change",
    "unknown_destinations",
]

#: The reserved destination: ``SLACK_WEBHOOK_URL`` or the secret's default webhook.
DEFAULT_DESTINATION = "default"


class EventKind(enum.Enum):
    """The closed set of event kinds a route's ``events`` names."""

    PUSH = "push"  #: commits pushed to an existing branch (and pushes to refs that are neither)
    BRANCH_CREATED = "branch_created"
    BRANCH_DELETED = "branch_deleted"
    TAG = "tag"  #: a tag created, moved or deleted
    PULL_REQUEST = "pull_request"  #: opened, updated, source updated, status changed, merged, closed
    COMMENT = "comment"  #: on a pull request or a commit
    APPROVAL = "approval"  #: approval state, rule override, rule changes
    PIPELINE = "pipeline"  #: a CodePipeline run or approval gate, or a GitLab pipeline (failed, fixed)


EVENT_KINDS: tuple[str, ...] = tuple(kind.value for kind in EventKind)
MATCH_KEYS = ("repositories", "refs", "events", "actors", "pipelines")
ROUTE_KEYS = (*MATCH_KEYS, "to")
DOCUMENT_KEYS = ("routes", "filters")
_SINGULAR = {
    "repositories": "repository",
    "refs": "ref",
    "events": "event",
    "actors": "actor",
    "pipelines": "pipeline",
}
_EXAMPLE = '{"routes": [{"events": ["push"], "to": ["default"]}], "filters": []}'


class RoutingError(DocumentError):
    """``ROUTES`` (or the CDK context ``routes`` / ``filters``) is invalid; lists every problem."""


@dataclass(frozen=True)
class Subject:
    """What a route is matched against: one reference of a push, or one pull-request activity.

    Attributes:
        repository: the repository's name.
        ref: the short branch or tag name (``main``, ``v1.2``); None when unknown.
        kind: what happened.
        actors: every name the actor goes by (user name, role name, ARN); any may match.
        actor_key: the one the source vouches for: the IAM ARN (CodeCommit), the username
            (GitLab, unique per instance). With ``IDENTITY_MATCH=arn`` only this one is matched.
    """

    repository: str
    ref: str | None
    kind: EventKind
    actors: tuple[str, ...] = ()
    actor_key: str = ""
    #: The pipeline's name, for a pipeline event (``pipelines`` matches only these).
    pipeline: str | None = None


def _any_glob(globs: Iterable[str], values: Iterable[str]) -> bool:
    candidates = tuple(values)
    return any(fnmatch.fnmatchcase(value, glob) for glob in globs for value in candidates)


@dataclass(frozen=True)
class Match:
    """The match keys routes and filters share; None means the key is absent (matches anything)."""

    repositories: tuple[str, ...] | None = None
    refs: tuple[str, ...] | None = None
    events: tuple[EventKind, ...] | None = None
    actors: tuple[str, ...] | None = None
    pipelines: tuple[str, ...] | None = None

    def matches(self, subject: Subject) -> bool:
        """True when every present key matches ``subject`` (any glob of the key)."""
        if self.events is not None and subject.kind not in self.events:
            return False
        if self.pipelines is not None and (
            subject.pipeline is None or not _any_glob(self.pipelines, (subject.pipeline,))
        ):
            return False
        if self.repositories is not None and not _any_glob(self.repositories, (subject.repository,)):
            return False
        if self.refs is not None and (subject.ref is None or not _any_glob(self.refs, (subject.ref,))):
            return False
        return self.actors is None or _any_glob(self.actors, subject.actors)

    def describe(self) -> str:
        """``events push, tag; actors ci-*``: the keys it has, for a log line ("any event" if none)."""
        parts = [
            f"{key} {', '.join(value.value if isinstance(value, EventKind) else value for value in values)}"
            for key in MATCH_KEYS
            if (values := getattr(self, key)) is not None
        ]
        return "; ".join(parts) or "any event"


@dataclass(frozen=True)
class Route:
    """A match and the destinations (names) an event it matches goes to."""

    match: Match
    to: tuple[str, ...]


@dataclass(frozen=True)
class Routing:
    """Every route and filter, in the order written. ``Routing()``: everything goes to ``default``.

    ``identity_match`` says what actor globs are matched against: with :attr:`IdentityMatch.ARN`
    (the default; ``Settings.routes_in_force`` sets it from ``IDENTITY_MATCH``) only the actor's
    full ARN, so a session that names itself ``ci-bot`` is not filtered as the CI bot.
    """

    routes: tuple[Route, ...] = ()
    filters: tuple[Match, ...] = ()
    identity_match: IdentityMatch = IdentityMatch.ARN

    @property
    def destinations(self) -> tuple[str, ...]:
        """Every destination some route names, each once, in order of first mention."""
        return tuple(dict.fromkeys(name for item in self.routes for name in item.to))


class Outcome(enum.Enum):
    """How a routing decision came about (the log line's ``outcome``)."""

    ROUTED = "routed"  #: one or more routes matched
    DEFAULT = "default"  #: no route matched; the default destination takes it
    FILTERED = "filtered"  #: a filter matched: dropped
    UNROUTED = "unrouted"  #: no route matched and there is no default destination: dropped


@dataclass(frozen=True)
class Decision:
    """Where one subject goes, and why.

    Attributes:
        destinations: destination names, each once, in order of first mention (empty: dropped).
        outcome: how the decision came about.
        reason: for the log line: ``routes[0], routes[2] matched``, ``filtered by filters[0]
            (actors ci-*)``, ``no route matched and no default destination``.
    """

    destinations: tuple[str, ...]
    outcome: Outcome
    reason: str

    @property
    def dropped(self) -> bool:
        """True when the subject goes nowhere (filtered, or unrouted without a default)."""
        return not self.destinations


def route(subject: Subject, routing: Routing, *, has_default: bool) -> Decision:
    """Decide where ``subject`` goes: filters first, then the union of the matching routes.

    Args:
        subject: what happened.
        routing: the parsed ``ROUTES`` (the pipelines do not call this when it is unset).
        has_default: whether a default destination is configured (``SLACK_WEBHOOK_URL``, or a
            secret holding a default webhook).
    """
    subject = identified(subject, routing.identity_match)
    for index, item in enumerate(routing.filters):
        if item.matches(subject):
            return Decision((), Outcome.FILTERED, f"filtered by filters[{index}] ({item.describe()})")
    matched = [index for index, item in enumerate(routing.routes) if item.match.matches(subject)]
    if matched:
        names = tuple(dict.fromkeys(name for index in matched for name in routing.routes[index].to))
        return Decision(
            names, Outcome.ROUTED, ", ".join(f"routes[{index}]" for index in matched) + " matched"
        )
    if has_default:
        return Decision((DEFAULT_DESTINATION,), Outcome.DEFAULT, "no route matched; sent to default")
    return Decision((), Outcome.UNROUTED, "no route matched and no default destination")


def identified(subject: Subject, identity_match: IdentityMatch) -> Subject:
    """``subject`` with only the actor names ``identity_match`` lets globs match: its key alone
    (:attr:`IdentityMatch.ARN`: a CodeCommit actor's full ARN, never the session or user name
    derived from it; a GitLab user's username), or every name (:attr:`IdentityMatch.NAME`)."""
    if identity_match is IdentityMatch.NAME:
        return subject
    return dataclasses.replace(subject, actors=(subject.actor_key,) if subject.actor_key else ())


#: Actor globs no one can match by a name of their own choosing: an IAM user's ARN (named by the
#: account's administrators), or whole roles (``…:assumed-role/CiRole/*``, ``…:assumed-role/Ci*``).
_ADMIN_NAMED = re.compile(r"arn:[^:]*:iam::[^:]*:user/.*|[^/]*:assumed-role/[^*?\[\]/]*(?:\*|/\*)?")


def self_named_filters(routing: Routing, identity_match: IdentityMatch) -> list[str]:
    """Filters that drop an actor by a name the actor chooses, each with what to write instead.

    A filter silences everyone it matches. Whoever assumes a role names the session (and may tag
    it with any e-mail); a federated user's name is chosen by whoever federates. So a filter is
    safe only when its actor globs are :data:`_ADMIN_NAMED`: IAM users' ARNs, or whole roles. A
    session-name glob (``ci-*`` with ``IDENTITY_MATCH=name``, ``…:assumed-role/Dev/ci-*`` or
    ``*ci-*`` with either) silences anyone who can assume a role it covers and picks a matching
    name. With ``IDENTITY_MATCH=arn`` a plain name matches no one: reported as a filter that no
    longer does anything.
    """
    found: list[str] = []
    for index, item in enumerate(routing.filters):
        for glob in item.actors or ():
            where = f"filters[{index}].actors {glob!r}"
            if _ADMIN_NAMED.fullmatch(glob):
                continue
            if identity_match is IdentityMatch.ARN and not glob.startswith(("arn:", "*", "?", "[")):
                found.append(
                    f"{where} is a name, and identity_match is arn: it matches no one; write the ARN "
                    "glob of the user or the whole role (arn:aws:sts::<account>:assumed-role/<CiRole>/*)"
                )
                continue
            found.append(
                f"{where} can match a name that sessions choose for themselves: anyone who can "
                "assume a role can name a session to match it and go unreported; match IAM users by "
                "ARN (arn:aws:iam::<account>:user/ci-bot) or whole roles "
                "(arn:aws:sts::<account>:assumed-role/<CiRole>/*)"
            )
    return found


def routes_by_dead_names(routing: Routing, identity_match: IdentityMatch) -> list[str]:
    """Routes whose actor globs are plain names, which ``IDENTITY_MATCH=arn`` never matches.

    Such a route no longer takes anyone's events (they go where no route matched): not a way to
    hide an event, but a silent change for a ``ROUTES`` written for name matching.
    """
    if identity_match is IdentityMatch.NAME:
        return []
    return [
        f"routes[{index}].actors {glob!r} is a name, and identity_match is arn: it matches no one; "
        "write the ARN glob (arn:aws:iam::<account>:user/alice, arn:aws:sts::<account>:assumed-role/<Role>/*)"
        for index, item in enumerate(routing.routes)
        for glob in item.match.actors or ()
        if not glob.startswith(("arn:", "*", "?", "["))
    ]


# -- subjects from the project's models --------------------------------------------------------


def _names(*values: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def subject_for_ref_change(push: Push, ref_change: RefChange) -> Subject:
    """The subject for one reference of a push (a push is routed per reference).

    A branch update is ``push``, a branch created or deleted ``branch_created`` /
    ``branch_deleted``, any tag change ``tag``; a reference that is neither branch nor tag counts
    as ``push``. Actors: the pusher's display name, role name and ARN.
    """
    from handler.model import RefAction, RefKind

    if ref_change.kind is RefKind.TAG:
        kind = EventKind.TAG
    elif ref_change.kind is RefKind.BRANCH and ref_change.action is RefAction.CREATED:
        kind = EventKind.BRANCH_CREATED
    elif ref_change.kind is RefKind.BRANCH and ref_change.action is RefAction.DELETED:
        kind = EventKind.BRANCH_DELETED
    else:
        kind = EventKind.PUSH
    pusher = push.pusher
    return Subject(
        repository=push.repository.name,
        ref=ref_change.short_name,
        kind=kind,
        actors=_names(pusher.display_name, pusher.role_name, pusher.arn),
        actor_key=pusher.arn,
    )


def _activity_kinds() -> Mapping[Any, EventKind]:
    from handler.pull_requests.model import ActivityKind

    return {
        ActivityKind.OPENED: EventKind.PULL_REQUEST,
        ActivityKind.SOURCE_UPDATED: EventKind.PULL_REQUEST,
        ActivityKind.MERGED: EventKind.PULL_REQUEST,
        ActivityKind.CLOSED: EventKind.PULL_REQUEST,
        ActivityKind.REOPENED: EventKind.PULL_REQUEST,
        ActivityKind.APPROVED: EventKind.APPROVAL,
        ActivityKind.APPROVAL_REVOKED: EventKind.APPROVAL,
        ActivityKind.OVERRIDDEN: EventKind.APPROVAL,
        ActivityKind.OVERRIDE_REVOKED: EventKind.APPROVAL,
        ActivityKind.RULE_CHANGED: EventKind.APPROVAL,
        ActivityKind.COMMENT: EventKind.COMMENT,
        ActivityKind.COMMENT_EDITED: EventKind.COMMENT,
        ActivityKind.COMMIT_COMMENT: EventKind.COMMENT,
    }


def _short_branch(reference: str) -> str | None:
    reference = reference.strip()
    if not reference:
        return None
    return reference.removeprefix("refs/heads/")


def _identity_names(identity: Identity) -> tuple[str, ...]:
    return _names(identity.name, identity.role_name, identity.arn)


def subject_for_activity(activity: Activity, *, pull_request: PullRequestSnapshot | None = None) -> Subject:
    """The subject for a pull-request, comment or approval activity.

    Args:
        activity: the parsed event.
        pull_request: a fresher snapshot (GetPullRequest's), whose destination branch is known
            when the event's is not (comment events carry only the pull request's id). Defaults
            to the event's own snapshot.

    The ref is the pull request's destination branch (short name), or None when unknown (then a
    route or filter with ``refs`` does not match). Actors: the actor's name, role name and ARN.
    """
    snapshot = pull_request or activity.pull_request
    ref = _short_branch(snapshot.destination_reference) if snapshot is not None else None
    return Subject(
        repository=activity.repository.name,
        ref=ref,
        kind=_activity_kinds()[activity.kind],
        actors=_identity_names(activity.actor),
        actor_key=activity.actor.arn,
    )


def subject_for_pipeline_run(run: PipelineRun) -> Subject:
    """The subject for a CI pipeline run: its repository, its ref (short name), kind ``pipeline``,
    and the names of who started it (display name and username)."""
    started_by = run.started_by
    return Subject(
        repository=run.repository.name,
        ref=run.ref,
        kind=EventKind.PIPELINE,
        actors=_names(started_by.display_name, started_by.arn),
        actor_key=started_by.arn,
    )
def subject_for_pipeline(pipeline: str, *, repository: str = "", branch: str = "") -> Subject:
    """The subject for a pipeline run, build or approval gate (event kind ``pipeline``).

    ``repository`` and ``branch`` are the pipeline's CodeCommit source, when known, so routes by
    ``repositories`` and ``refs`` work for pipelines too; ``pipelines`` matches the name.
    """
    return Subject(repository=repository, ref=branch or None, kind=EventKind.PIPELINE, pipeline=pipeline)


def route_push(
    push: Push, routing: Routing, *, has_default: bool, ref_changes: Sequence[RefChange] | None = None
) -> PushRouting:
    """Route each reference of ``push`` (or of ``ref_changes``) on its own, then group by destination."""
    grouped: dict[str, list[RefChange]] = {}
    decisions: list[tuple[RefChange, Decision]] = []
    for ref_change in push.ref_changes if ref_changes is None else ref_changes:
        decision = route(subject_for_ref_change(push, ref_change), routing, has_default=has_default)
        decisions.append((ref_change, decision))
        for name in decision.destinations:
            grouped.setdefault(name, []).append(ref_change)
    return PushRouting(
        by_destination={name: tuple(changes) for name, changes in grouped.items()},
        dropped=tuple(item for item in decisions if item[1].dropped),
        decisions=tuple(decisions),
    )


# -- parsing ------------------------------------------------------------------------------------


def _globs(value: object, path: str, problems: Problems, key: str) -> tuple[str, ...] | None:
    if isinstance(value, str):
        problems.add(path, f"must be a list of globs; write [{value!r}]".replace("'", '"'))
        return None
    if not isinstance(value, list):
        problems.add(path, f'must be a list of globs like ["main", "release/*"], got {describe(value)}')
        return None
    if not value:
        problems.add(
            path, f"an empty list matches nothing; leave out {key!r} to match every {_SINGULAR[key]}"
        )
        return None
    globs: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problems.add(path_of(path, index), f"must be a non-empty text glob, got {describe(item)}")
        elif item != item.strip():
            problems.add(path_of(path, index), f"has spaces around it; write {item.strip()!r}")
        else:
            globs.append(item)
    return tuple(globs) if len(globs) == len(value) else None


def _events(value: object, path: str, problems: Problems) -> tuple[EventKind, ...] | None:
    if not isinstance(value, list) or not value:
        _globs(value, path, problems, "events")  # reports the shape problem
        return None
    kinds: list[EventKind] = []
    for index, item in enumerate(value):
        if isinstance(item, str) and item in EVENT_KINDS:
            kinds.append(EventKind(item))
            continue
        shown = repr(item) if isinstance(item, str) else describe(item)
        problems.add(
            path_of(path, index),
            f"{shown} is not an event kind{did_you_mean(item, EVENT_KINDS)}; "
            f"the kinds are {', '.join(EVENT_KINDS)}",
        )
    return tuple(kinds) if len(kinds) == len(value) else None


def _match(item: Mapping[str, Any], path: str, problems: Problems) -> Match:
    keys: dict[str, Any] = {}
    for key in MATCH_KEYS:
        if key not in item:
            continue
        if key == "events":
            keys[key] = _events(item[key], path_of(path, key), problems)
        else:
            keys[key] = _globs(item[key], path_of(path, key), problems, key)
    return Match(**keys)


def _to(
    value: object, path: str, problems: Problems, known_destinations: Collection[str] | None
) -> tuple[str, ...]:
    if isinstance(value, str):
        problems.add(path, f"must be a list of destination names; write [{value!r}]".replace("'", '"'))
        return ()
    if not isinstance(value, list) or not value:
        shown = "an empty list" if value == [] else describe(value)
        problems.add(path, f'must name one or more destinations, like ["default"], got {shown}')
        return ()
    names: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item:
            problems.add(path_of(path, index), f"must be a destination name, got {describe(item)}")
            continue
        names.append(item)
        if known_destinations is not None:
            problem = _unknown_destination(item, known_destinations)
            if problem:
                problems.add(path_of(path, index), problem)
    return tuple(names)


def _unknown_destination(
    name: str, known_destinations: Collection[str], declared_in: str = "destinations"
) -> str | None:
    known = sorted({DEFAULT_DESTINATION, *known_destinations})
    if name in known:
        return None
    return (
        f"unknown destination {name!r}{did_you_mean(name, known)}; the destinations are "
        f"{', '.join(known)} (declare others in {declared_in})"
    )


def unknown_destinations(
    routing: Routing, known_destinations: Collection[str], *, declared_in: str = "destinations"
) -> list[str]:
    """A problem (with its path) for each ``to`` name that is neither declared nor ``default``.

    For the check that needs both variables: :func:`parse_routing` with ``known_destinations``
    does it in one go when both are at hand.
    """
    problems = Problems()
    for index, item in enumerate(routing.routes):
        for position, name in enumerate(item.to):
            problem = _unknown_destination(name, known_destinations, declared_in)
            if problem:
                problems.add(f"routes[{index}].to[{position}]", problem)
    return problems.lines


def _items(document: Mapping[str, Any], key: str, problems: Problems) -> list[tuple[str, dict[str, Any]]]:
    value = document.get(key, [])
    if not isinstance(value, list):
        problems.add(key, f"must be a list of objects, got {describe(value)}")
        return []
    items: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(value):
        path = path_of(key, index)
        if isinstance(item, dict):
            items.append((path, item))
        else:
            problems.add(path, f'must be an object like {{"refs": ["main"]}}, got {describe(item)}')
    return items


def parse_routing(document: object, *, known_destinations: Collection[str] | None) -> Routing:
    """Validate and parse the ``ROUTES`` document (already decoded from JSON).

    Args:
        document: ``{"routes": [...], "filters": [...]}``; both keys optional.
        known_destinations: the declared destination names (``default`` is always known); None
            skips that check (see :func:`unknown_destinations`).

    Raises:
        RoutingError: listing every problem, each with its path (``routes[1].events[0]``) and
            what to write instead.
    """
    problems = Problems()
    if not isinstance(document, dict):
        problems.add("", f"must be a JSON object like {_EXAMPLE}, got {describe(document)}")
        raise RoutingError(problems.lines)
    problems.unknown_keys("", document, DOCUMENT_KEYS)
    routes: list[Route] = []
    for path, item in _items(document, "routes", problems):
        problems.unknown_keys(path, item, ROUTE_KEYS)
        match = _match(item, path, problems)
        if "to" not in item:
            problems.add(path, 'has no "to": name the destinations it sends to, like "to": ["default"]')
        to = _to(item.get("to"), path_of(path, "to"), problems, known_destinations) if "to" in item else ()
        routes.append(Route(match, to))
    filters: list[Match] = []
    for path, item in _items(document, "filters", problems):
        if "to" in item:
            problems.add(path_of(path, "to"), "a filter drops what it matches and sends nowhere; remove 'to'")
        problems.unknown_keys(path, {key: value for key, value in item.items() if key != "to"}, MATCH_KEYS)
        if not any(key in item for key in MATCH_KEYS):
            problems.add(
                path,
                "has no match keys, so it would drop every event; give it one or more of "
                + ", ".join(MATCH_KEYS),
            )
        filters.append(_match(item, path, problems))
    if problems:
        raise RoutingError(problems.lines)
    return Routing(routes=tuple(routes), filters=tuple(filters))
