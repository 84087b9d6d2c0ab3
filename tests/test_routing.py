"""Routing: which routes match, unions and filters, subjects from pushes and activities, and every
validation message of ROUTES (path first, what to write instead)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.model import IdentityMatch, Push, Pusher, RefAction, RefChange, RefKind, Repository
from handler.pull_requests.model import Activity, ActivityKind, Identity, PullRequestSnapshot
from handler.routing import (
    EventKind,
    Match,
    Outcome,
    Route,
    Routing,
    RoutingError,
    Subject,
    parse_routing,
    route,
    route_push,
    subject_for_activity,
    subject_for_ref_change,
    unknown_destinations,
)

DESTINATIONS = {"payments", "reviews", "platform-mm"}
BRIEF_EXAMPLE: dict[str, Any] = {
    "routes": [
        {
            "repositories": ["payments-*"],
            "refs": ["main", "release/*"],
            "events": ["push", "tag"],
            "to": ["payments"],
        },
        {"events": ["pull_request", "comment", "approval"], "to": ["reviews", "platform-mm"]},
    ],
    "filters": [{"actors": ["ci-*", "*:assumed-role/CodeBuild*"]}, {"refs": ["dependabot/*"]}],
}
#: Name matching on, so the actor globs meet every name the subjects give (tests/test_identity.py
#: covers IDENTITY_MATCH=arn, the default).
ROUTING = replace(
    parse_routing(BRIEF_EXAMPLE, known_destinations=DESTINATIONS), identity_match=IdentityMatch.NAME
)


def subject(
    repository: str = "payments-api",
    ref: str | None = "main",
    kind: EventKind = EventKind.PUSH,
    actors: tuple[str, ...] = ("alice", "arn:aws:iam::123456789012:user/alice"),
) -> Subject:
    return Subject(repository, ref, kind, actors)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (subject(), ("payments",)),
        (subject(ref="release/2026/11"), ("payments",)),  # * crosses /
        (subject(kind=EventKind.TAG, ref="release/v1"), ("payments",)),
        (subject(repository="payments"), ()),  # payments-* needs the dash
        (subject(repository="Payments-api"), ()),  # case-sensitive
        (subject(ref="Main"), ()),
        (subject(ref="feature/x"), ()),
        (subject(kind=EventKind.BRANCH_CREATED), ()),
        (subject(ref=None), ()),  # a refs key never matches an unknown ref
        (subject(repository="other", kind=EventKind.COMMENT), ("reviews", "platform-mm")),
        (subject(repository="other", kind=EventKind.APPROVAL, ref=None), ("reviews", "platform-mm")),
    ],
)
def test_routes_match_on_every_key_they_have(case: Subject, expected: tuple[str, ...]) -> None:
    decision = route(case, ROUTING, has_default=False)
    assert decision.destinations == expected
    assert decision.outcome is (Outcome.ROUTED if expected else Outcome.UNROUTED)


def test_every_key_must_match_and_any_glob_within_a_key() -> None:
    match = Match(repositories=("a", "b*"), refs=("main",), events=(EventKind.PUSH,), actors=("alice",))
    assert match.matches(subject(repository="b-2", actors=("alice",)))
    assert match.matches(subject(repository="a", actors=("bob", "alice")))
    for broken in (
        subject(repository="c", actors=("alice",)),
        subject(repository="a", ref="dev", actors=("alice",)),
        subject(repository="a", kind=EventKind.TAG, actors=("alice",)),
        subject(repository="a", actors=("bob",)),
        subject(repository="a", actors=()),
    ):
        assert not match.matches(broken), broken


def test_an_event_goes_to_the_union_of_matching_routes_each_destination_once() -> None:
    routing = parse_routing(
        {
            "routes": [
                {"events": ["push"], "to": ["payments", "reviews"]},
                {"refs": ["main"], "to": ["reviews", "default"]},
                {"repositories": ["nope"], "to": ["platform-mm"]},
                {"to": ["payments"]},
            ]
        },
        known_destinations=DESTINATIONS,
    )
    decision = route(subject(), routing, has_default=False)
    assert decision.destinations == ("payments", "reviews", "default")
    assert decision.reason == "routes[0], routes[1], routes[3] matched"


@pytest.mark.parametrize(
    ("actors", "ref", "reason"),
    [
        (("ci-bot",), "main", "filtered by filters[0] (actors ci-*, *:assumed-role/CodeBuild*)"),
        (
            ("runner", "arn:aws:sts::123456789012:assumed-role/CodeBuildRole/session"),
            "main",
            "filtered by filters[0] (actors ci-*, *:assumed-role/CodeBuild*)",
        ),
        (("alice",), "dependabot/npm/left-pad", "filtered by filters[1] (refs dependabot/*)"),
    ],
)
def test_filters_drop_before_routes_are_consulted(actors: tuple[str, ...], ref: str, reason: str) -> None:
    decision = route(subject(actors=actors, ref=ref), ROUTING, has_default=True)
    assert decision.dropped and decision.outcome is Outcome.FILTERED
    assert decision.reason == reason


def test_no_match_goes_to_default_only_when_there_is_one() -> None:
    unmatched = subject(repository="other")
    assert route(unmatched, ROUTING, has_default=True).destinations == ("default",)
    assert route(unmatched, ROUTING, has_default=True).outcome is Outcome.DEFAULT
    dropped = route(unmatched, ROUTING, has_default=False)
    assert dropped.dropped and dropped.outcome is Outcome.UNROUTED
    assert dropped.reason == "no route matched and no default destination"


def test_no_routes_at_all_sends_everything_to_default() -> None:
    assert route(subject(), Routing(), has_default=True).destinations == ("default",)
    assert parse_routing({}, known_destinations=()) == Routing()


names = st.text(alphabet="abc-/*?", min_size=0, max_size=8)
subjects = st.builds(
    Subject,
    repository=names,
    ref=st.none() | names,
    kind=st.sampled_from(EventKind),
    actors=st.lists(names, max_size=3).map(tuple),
)
matches = st.builds(
    Match,
    repositories=st.none() | st.lists(names, min_size=1, max_size=2).map(tuple),
    refs=st.none() | st.lists(names, min_size=1, max_size=2).map(tuple),
    events=st.none() | st.lists(st.sampled_from(EventKind), min_size=1, max_size=3).map(tuple),
    actors=st.none() | st.lists(names, min_size=1, max_size=2).map(tuple),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subjects, st.booleans())
def test_a_route_without_keys_matches_every_subject(case: Subject, has_default: bool) -> None:
    decision = route(case, Routing(routes=(Route(Match(), ("payments",)),)), has_default=has_default)
    assert decision.destinations == ("payments",)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subjects, matches, st.lists(matches, max_size=3), st.booleans())
def test_a_matching_filter_always_wins(
    case: Subject, chosen: Match, others: list[Match], has_default: bool
) -> None:
    routes = tuple(Route(match, ("payments",)) for match in [Match(), *others])
    routing = Routing(routes=routes, filters=(chosen,), identity_match=IdentityMatch.NAME)
    decision = route(case, routing, has_default=has_default)
    assert decision.dropped is chosen.matches(case)
    assert (decision.outcome is Outcome.FILTERED) is chosen.matches(case)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subjects, st.lists(matches, min_size=1, max_size=4), st.booleans())
def test_destinations_are_the_ordered_union_without_repeats(
    case: Subject, route_matches: list[Match], has_default: bool
) -> None:
    pool = ("a", "b", "c")
    routes = tuple(Route(match, (pool[i % 3], pool[(i + 1) % 3])) for i, match in enumerate(route_matches))
    decision = route(case, Routing(routes=routes, identity_match=IdentityMatch.NAME), has_default=has_default)
    expected = [name for item in routes if item.match.matches(case) for name in item.to]
    if expected:
        assert decision.destinations == tuple(dict.fromkeys(expected))
    else:
        assert decision.destinations == (("default",) if has_default else ())


# -- subjects ----------------------------------------------------------------------------------

PUSHER = Pusher(
    display_name="alice",
    identity_kind="assumed-role",
    arn="arn:aws:sts::123456789012:assumed-role/DeveloperRole/alice",
    role_name="DeveloperRole",
)
REPOSITORY = Repository("payments-api", "us-east-2", "123456789012")


def change(kind: RefKind, action: RefAction, short: str) -> RefChange:
    prefix = {RefKind.BRANCH: "refs/heads/", RefKind.TAG: "refs/tags/", RefKind.OTHER: ""}[kind]
    return RefChange(prefix + short, kind, short, action, "a" * 40)


def push(*changes: RefChange) -> Push:
    return Push(REPOSITORY, PUSHER, changes, None, "event", "trigger")


@pytest.mark.parametrize(
    ("kind", "action", "expected"),
    [
        (RefKind.BRANCH, RefAction.UPDATED, EventKind.PUSH),
        (RefKind.BRANCH, RefAction.CREATED, EventKind.BRANCH_CREATED),
        (RefKind.BRANCH, RefAction.DELETED, EventKind.BRANCH_DELETED),
        (RefKind.TAG, RefAction.CREATED, EventKind.TAG),
        (RefKind.TAG, RefAction.UPDATED, EventKind.TAG),
        (RefKind.TAG, RefAction.DELETED, EventKind.TAG),
        (RefKind.OTHER, RefAction.CREATED, EventKind.PUSH),
        (RefKind.OTHER, RefAction.DELETED, EventKind.PUSH),
    ],
)
def test_a_ref_change_is_one_subject(kind: RefKind, action: RefAction, expected: EventKind) -> None:
    ref_change = change(kind, action, "release/1")
    assert subject_for_ref_change(push(ref_change), ref_change) == Subject(
        "payments-api",
        "release/1",
        expected,
        ("alice", "DeveloperRole", "arn:aws:sts::123456789012:assumed-role/DeveloperRole/alice"),
        actor_key="arn:aws:sts::123456789012:assumed-role/DeveloperRole/alice",
    )


def test_a_push_is_routed_per_reference() -> None:
    main = change(RefKind.BRANCH, RefAction.UPDATED, "main")
    feature = change(RefKind.BRANCH, RefAction.UPDATED, "feature/x")
    tag = change(RefKind.TAG, RefAction.CREATED, "v1.0")
    deps = change(RefKind.BRANCH, RefAction.UPDATED, "dependabot/npm")
    routing = parse_routing(
        {
            "routes": [
                {"refs": ["main"], "to": ["payments"]},
                {"events": ["tag"], "to": ["reviews", "payments"]},
            ],
            "filters": [{"refs": ["dependabot/*"]}],
        },
        known_destinations=DESTINATIONS,
    )
    result = route_push(push(main, feature, tag, deps), routing, has_default=False)
    assert dict(result.by_destination) == {"payments": (main, tag), "reviews": (tag,)}
    assert [(ref, decision.outcome) for ref, decision in result.dropped] == [
        (feature, Outcome.UNROUTED),
        (deps, Outcome.FILTERED),
    ]
    with_default = route_push(push(main, feature, tag, deps), routing, has_default=True)
    assert dict(with_default.by_destination) == {
        "payments": (main, tag),
        "default": (feature,),
        "reviews": (tag,),
    }


def test_every_activity_kind_has_an_event_kind() -> None:
    expected = {
        EventKind.PULL_REQUEST: {"opened", "updated", "merged", "closed", "reopened"},
        EventKind.APPROVAL: {
            "approved",
            "approval-revoked",
            "overridden",
            "override-revoked",
            "rule-changed",
        },
        EventKind.COMMENT: {"comment", "comment-edited", "commit-comment"},
    }
    actor = Identity("arn:aws:iam::123456789012:user/bob", "bob")
    for kind in ActivityKind:
        activity = Activity(kind, "event", REPOSITORY, actor)
        found = subject_for_activity(activity).kind
        assert kind.value in expected[found], kind


def test_an_activity_subject_has_the_destination_branch_and_the_actor() -> None:
    actor = Identity(
        "arn:aws:sts::123456789012:assumed-role/Reviewers/carol", "carol", role_name="Reviewers", email="c@x"
    )
    snapshot = PullRequestSnapshot("7", destination_reference="refs/heads/release/2")
    activity = Activity(ActivityKind.OPENED, "pullRequestCreated", REPOSITORY, actor, pull_request=snapshot)
    assert subject_for_activity(activity) == Subject(
        "payments-api",
        "release/2",
        EventKind.PULL_REQUEST,
        ("carol", "Reviewers", "arn:aws:sts::123456789012:assumed-role/Reviewers/carol"),
        actor_key="arn:aws:sts::123456789012:assumed-role/Reviewers/carol",
    )
    comment = Activity(
        ActivityKind.COMMENT, "commentOnPullRequestCreated", REPOSITORY, actor, pull_request_id="7"
    )
    assert subject_for_activity(comment).ref is None
    assert subject_for_activity(comment, pull_request=snapshot).ref == "release/2"


# -- validation ----------------------------------------------------------------------------------


def problems_of(document: object, known: set[str] | None = DESTINATIONS) -> tuple[str, ...]:
    with pytest.raises(RoutingError) as error:
        parse_routing(document, known_destinations=known)
    assert str(error.value).startswith(f"has {len(error.value.problems)} problem")
    for problem in error.value.problems:
        assert f"\n    - {problem}" in str(error.value)
    return error.value.problems


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (["not", "an", "object"], 'must be a JSON object like {"routes"'),
        ({"route": []}, "route: unknown key (did you mean 'routes'?); the keys are routes, filters"),
        ({"routes": {}}, "routes: must be a list of objects, got an object"),
        ({"routes": ["main"]}, "routes[0]: must be an object"),
        ({"routes": [{"events": ["push"]}]}, 'routes[0]: has no "to": name the destinations'),
        ({"routes": [{"to": []}]}, "routes[0].to: must name one or more destinations, like"),
        (
            {"routes": [{"to": "payments"}]},
            'routes[0].to: must be a list of destination names; write ["payments"]',
        ),
        ({"routes": [{"to": [3]}]}, "routes[0].to[0]: must be a destination name, got a number"),
        (
            {"routes": [{"to": ["paymnts"]}]},
            "routes[0].to[0]: unknown destination 'paymnts' (did you mean 'payments'?); the destinations "
            "are default, payments, platform-mm, reviews (declare others in destinations)",
        ),
        (
            {"routes": [{"events": ["push", "psuh"], "to": ["default"]}]},
            "routes[0].events[1]: 'psuh' is not an event kind (did you mean 'push'?); the kinds are push, "
            "branch_created, branch_deleted, tag, pull_request, comment, approval",
        ),
        (
            {"routes": [{"events": ["Pull_Request"], "to": ["default"]}]},
            "'Pull_Request' is not an event kind (did you mean 'pull_request'?)",
        ),
        (
            {"routes": [{"events": ["merge"], "to": ["default"]}]},
            "routes[0].events[0]: 'merge' is not an event kind;",
        ),
        (
            {"routes": [{"events": [True], "to": ["default"]}]},
            "routes[0].events[0]: a boolean is not an event kind",
        ),
        (
            {"routes": [{"events": "push", "to": ["default"]}]},
            'routes[0].events: must be a list of globs; write ["push"]',
        ),
        (
            {"routes": [{"refs": "main", "to": ["default"]}]},
            'routes[0].refs: must be a list of globs; write ["main"]',
        ),
        (
            {"routes": [{"refs": [], "to": ["default"]}]},
            "routes[0].refs: an empty list matches nothing; leave out",
        ),
        (
            {"routes": [{"repositories": {"a": 1}, "to": ["default"]}]},
            "routes[0].repositories: must be a list of",
        ),
        (
            {"routes": [{"actors": ["ci-*", 7], "to": ["default"]}]},
            "routes[0].actors[1]: must be a non-empty text",
        ),
        (
            {"routes": [{"actors": [""], "to": ["default"]}]},
            "routes[0].actors[0]: must be a non-empty text glob",
        ),
        (
            {"routes": [{"refs": [" main"], "to": ["default"]}]},
            "routes[0].refs[0]: has spaces around it; write 'main'",
        ),
        (
            {"routes": [{"branches": ["main"], "to": ["default"]}]},
            "routes[0].branches: unknown key; the keys are repositories, refs, events, actors, pipelines, to",
        ),
        (
            {"routes": [{"repository": ["x"], "to": ["default"]}]},
            "routes[0].repository: unknown key (did you mean 'repositories'?)",
        ),
        ({"filters": [{}]}, "filters[0]: has no match keys, so it would drop every event"),
        ({"filters": [{"actors": ["ci"], "to": ["x"]}]}, "filters[0].to: a filter drops what it matches"),
        ({"filters": [{"actor": ["ci"]}]}, "filters[0].actor: unknown key (did you mean 'actors'?)"),
    ],
)
def test_every_problem_says_where_and_what_to_write(document: object, expected: str) -> None:
    assert any(expected in problem for problem in problems_of(document)), problems_of(document)


def test_all_problems_are_reported_at_once() -> None:
    document = {
        "routes": [
            {"events": ["psuh"], "to": ["paymnts"], "refz": ["x"]},
            {"refs": "main", "to": []},
        ],
        "filters": [{}],
        "x": 1,
    }
    problems = problems_of(document)
    assert [problem.split(":")[0] for problem in problems] == [
        "x",
        "routes[0].refz",
        "routes[0].events[0]",
        "routes[0].to[0]",
        "routes[1].refs",
        "routes[1].to",
        "filters[0]",
    ]


def test_destination_names_are_checked_only_when_known() -> None:
    document = {"routes": [{"to": ["anything"]}, {"to": ["default", "payments"]}]}
    routing = parse_routing(document, known_destinations=None)
    assert unknown_destinations(routing, {"payments"}, declared_in="DESTINATIONS") == [
        "routes[0].to[0]: unknown destination 'anything'; the destinations are default, payments "
        "(declare others in DESTINATIONS)"
    ]
    assert unknown_destinations(routing, {"payments", "anything"}) == []
    assert problems_of(document, known=set())[0].startswith("routes[0].to[0]: unknown destination")


def test_the_brief_example_parses_to_what_it_says() -> None:
    assert ROUTING.routes[0] == Route(
        Match(
            repositories=("payments-*",),
            refs=("main", "release/*"),
            events=(EventKind.PUSH, EventKind.TAG),
        ),
        ("payments",),
    )
    assert ROUTING.filters[1] == Match(refs=("dependabot/*",))
    assert ROUTING.destinations == ("payments", "reviews", "platform-mm")
    assert Match().describe() == "any event"


def test_pipeline_events_route_by_pipeline_and_a_route_without_events_takes_them_too() -> None:
    from handler.routing import subject_for_pipeline

    routing = parse_routing(
        {
            "routes": [
                {"pipelines": ["prod-*"], "to": ["releases"]},
                {"events": ["push"], "to": ["pushes"]},
                {"repositories": ["web"], "to": ["web"]},
            ]
        },
        known_destinations=None,
    )
    prod = route(subject_for_pipeline("prod-web", repository="web", branch="main"), routing, has_default=True)
    assert prod.destinations == ("releases", "web")
    other = route(subject_for_pipeline("staging"), routing, has_default=False)
    assert other.dropped
    push = Subject("web", "main", EventKind.PUSH)
    assert route(push, routing, has_default=False).destinations == (
        "pushes",
        "web",
    )  # pipelines key: never a push
