"""Who is who: ``IDENTITY_MATCH`` decides whether self-chosen names identify anyone (issue 17, item 8).

Whoever assumes a role names the session (``alice``) and may tag it with any e-mail. With the
default, ``arn``, ``USER_MAP`` keys and ``ROUTES`` actor globs match full ARNs only, so such a
session is neither mentioned, routed nor filtered as alice; ``name`` keeps the old convenience.
Each table row is one identity, one key or glob, one mode, and what must happen.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from cdk.config import NotifierConfig
from handler.errors import ConfigurationError
from handler.model import IdentityMatch, Push, RefAction, RefChange, RefKind, Repository, parse_pusher
from handler.pull_requests.model import Identity
from handler.pull_requests.people import ChatUser, UserMap
from handler.pull_requests.settings import PullRequestSettings
from handler.routing import EventKind, Outcome, Subject, parse_routing, route, subject_for_ref_change
from handler.settings import Settings
from handler.sources.eventbridge import identity

ACCOUNT = "111122223333"
ALICE_USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
#: Anyone who may assume role Dev can call their session "alice" and tag it alice's e-mail.
SESSION_ALICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"
SESSION_ALICE_MAIL = f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice@example.com"
CI_USER = f"arn:aws:iam::{ACCOUNT}:user/ci-bot"
SESSION_CI = f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/ci-bot"
ARN, NAME = IdentityMatch.ARN, IdentityMatch.NAME

#: (USER_MAP key, who acts, e-mail from session tags, mode, mentioned?)
USER_MAP_CASES = [
    (ALICE_USER, ALICE_USER, None, ARN, True),
    (ALICE_USER, ALICE_USER, None, NAME, True),
    (SESSION_ALICE_MAIL, SESSION_ALICE_MAIL, None, ARN, True),  # a session by its full ARN: chosen knowingly
    ("alice", SESSION_ALICE, None, ARN, False),  # a session that calls itself alice is not alice
    ("alice", SESSION_ALICE, None, NAME, True),
    ("alice", ALICE_USER, None, ARN, False),  # IAM user names too: keys are full ARNs only
    ("alice", ALICE_USER, None, NAME, True),
    ("alice@example.com", SESSION_ALICE_MAIL, None, ARN, False),  # session name as e-mail
    ("alice@example.com", SESSION_ALICE_MAIL, None, NAME, True),
    ("alice@example.com", f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/x", "alice@example.com", ARN, False),
    ("alice@example.com", f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/x", "alice@example.com", NAME, True),
    (ALICE_USER, SESSION_ALICE, None, ARN, False),  # another identity, whatever its name
    (ALICE_USER, SESSION_ALICE, None, NAME, False),
]


@pytest.mark.parametrize(("key", "actor", "email", "mode", "mentioned"), USER_MAP_CASES)
def test_user_map_keys_match_what_identity_match_allows(
    key: str, actor: str, email: str | None, mode: IdentityMatch, mentioned: bool
) -> None:
    environ = {"USER_MAP": json.dumps({key: "U0ALICE01"}), "IDENTITY_MATCH": mode.value}
    user_map = PullRequestSettings.from_environ(environ).user_map
    found = user_map.lookup(identity(actor, email=email))
    assert (found == ChatUser("U0ALICE01")) is mentioned


def test_the_default_matches_full_arns_only() -> None:
    assert Settings.from_environ({}).identity_match is ARN
    user_map = PullRequestSettings.from_environ({"USER_MAP": json.dumps({"alice": "U0ALICE01"})}).user_map
    assert user_map.lookup(identity(SESSION_ALICE)) is None
    assert UserMap().identity_match is ARN and PullRequestSettings().user_map.identity_match is ARN


def test_name_keys_the_default_ignores_are_logged_with_what_to_write(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    PullRequestSettings.from_environ({"USER_MAP": json.dumps({"alice": "U0ALICE01", ALICE_USER: "U0A"})})
    expected = "USER_MAP keys alice are not ARNs: with IDENTITY_MATCH=arn they match a GitLab username"
    assert expected in caplog.text
    caplog.clear()
    PullRequestSettings.from_environ({"USER_MAP": json.dumps({"alice": "U0A"}), "IDENTITY_MATCH": "name"})
    assert "USER_MAP keys" not in caplog.text


@pytest.mark.parametrize(("text", "expected"), [("arn", ARN), ("ARN", ARN), (" name ", NAME), ("Name", NAME)])
def test_identity_match_reads_either_choice(text: str, expected: IdentityMatch) -> None:
    assert Settings.from_environ({"IDENTITY_MATCH": text}).identity_match is expected


@pytest.mark.parametrize("text", ["names", "email", "arn,name", "0"])
def test_identity_match_refuses_anything_else_saying_what_to_write(text: str) -> None:
    with pytest.raises(ConfigurationError, match="IDENTITY_MATCH must be one of arn, name"):
        Settings.from_environ({"IDENTITY_MATCH": text})
    with pytest.raises(ConfigurationError, match="IDENTITY_MATCH must be one of arn, name"):
        PullRequestSettings.from_environ({"IDENTITY_MATCH": text})


# -- ROUTES actor globs -------------------------------------------------------------------------------

#: (filter glob, who pushes, mode, filtered?)
FILTER_CASES = [
    ("ci-*", SESSION_CI, ARN, False),  # a session calling itself ci-bot is not silenced
    ("ci-*", SESSION_CI, NAME, True),
    ("ci-*", CI_USER, ARN, False),  # a name glob matches no one under arn
    ("ci-*", CI_USER, NAME, True),
    (f"arn:aws:iam::{ACCOUNT}:user/ci-*", CI_USER, ARN, True),  # the CI user by ARN glob
    (f"arn:aws:iam::{ACCOUNT}:user/ci-*", SESSION_CI, ARN, False),
    (f"arn:aws:iam::{ACCOUNT}:user/ci-*", CI_USER, NAME, True),
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/Ci/*", f"arn:aws:sts::{ACCOUNT}:assumed-role/Ci/x", ARN, True),
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/Ci/*", SESSION_CI, ARN, False),
    ("Dev", SESSION_CI, NAME, True),  # name mode also matches the role name
    ("Dev", SESSION_CI, ARN, False),
]


def _push_by(arn: str) -> Push:
    change = RefChange("refs/heads/main", RefKind.BRANCH, "main", RefAction.UPDATED, "a" * 40)
    return Push(Repository("payments", "eu-west-1", ACCOUNT), parse_pusher(arn), (change,), None, "e", "t")


@pytest.mark.parametrize(("glob", "actor", "mode", "filtered"), FILTER_CASES)
def test_filters_match_the_actor_as_identity_match_allows(
    glob: str, actor: str, mode: IdentityMatch, filtered: bool
) -> None:
    settings = Settings.from_environ(
        {"ROUTES": json.dumps({"filters": [{"actors": [glob]}]}), "IDENTITY_MATCH": mode.value}
    )
    routing = settings.routes_in_force
    assert routing is not None and routing.identity_match is mode
    push = _push_by(actor)
    decision = route(subject_for_ref_change(push, push.ref_changes[0]), routing, has_default=True)
    assert (decision.outcome is Outcome.FILTERED) is filtered


def test_routes_follow_the_same_rule_as_filters() -> None:
    document: dict[str, Any] = {"routes": [{"actors": ["alice"], "to": ["default"]}]}
    routing = parse_routing(document, known_destinations=None)
    subject = Subject("payments", "main", EventKind.PUSH, ("alice", SESSION_ALICE))
    assert route(subject, routing, has_default=False).outcome is Outcome.UNROUTED
    named = Settings.from_environ({"ROUTES": json.dumps(document), "IDENTITY_MATCH": "name"}).routes_in_force
    assert named is not None and route(subject, named, has_default=False).outcome is Outcome.ROUTED


# -- flagged at synth ---------------------------------------------------------------------------------

#: (identity_match context, filter glob, warned?)
SYNTH_CASES = [
    (None, "ci-*", "matches no one"),  # the default, arn: a name glob is dead
    ("arn", "ci-*", "matches no one"),
    ("name", "ci-*", "can match a name that sessions choose"),
    ("name", "*", "can match a name that sessions choose"),
    ("arn", f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/ci-*", "can match a name that sessions choose"),
    ("name", f"arn:aws:sts::{ACCOUNT}:assumed-role/*/ci-*", "can match a name that sessions choose"),
    ("arn", "*ci-*", "can match a name that sessions choose"),
    ("arn", f"arn:aws:sts::{ACCOUNT}:federated-user/ci-*", "can match a name that sessions choose"),
    ("arn", f"arn:aws:iam::{ACCOUNT}:user/ci-*", None),  # IAM users are named by administrators
    ("name", f"arn:aws:iam::{ACCOUNT}:user/ci-*", None),
    ("arn", f"arn:aws:sts::{ACCOUNT}:assumed-role/CiRole/*", None),  # a whole role
    ("arn", "*:assumed-role/CodeBuild*", None),
]


@pytest.mark.parametrize(("mode", "glob", "warning"), SYNTH_CASES)
def test_synth_flags_a_filter_that_silences_by_a_self_chosen_name(
    mode: str | None, glob: str, warning: str | None
) -> None:
    context: dict[str, Any] = {"repositories": ["payments"], "filters": [{"actors": [glob]}]}
    if mode is not None:
        context["identity_match"] = mode
    config = NotifierConfig.from_context(context.get)
    if warning is None:
        assert config.warnings == ()
    else:
        [found] = config.warnings
        assert found.startswith(f"filters[0].actors {glob!r}") and warning in found, found
        assert "arn:aws:" in found  # says what to write instead


@pytest.mark.parametrize(
    ("mode", "glob", "warned"), [(None, "alice", True), ("name", "alice", False), (None, ALICE_USER, False)]
)
def test_synth_flags_a_route_whose_name_glob_matches_no_one(
    mode: str | None, glob: str, warned: bool
) -> None:
    context: dict[str, Any] = {
        "repositories": ["payments"],
        "routes": [{"actors": [glob], "to": ["default"]}],
    }
    if mode is not None:
        context["identity_match"] = mode
    warnings = NotifierConfig.from_context(context.get).warnings
    assert bool(warnings) is warned
    assert all(warning.startswith(f"routes[0].actors {glob!r} is a name") for warning in warnings)


def test_synth_refuses_an_identity_match_it_does_not_know() -> None:
    from cdk.config import StackConfigError

    with pytest.raises(StackConfigError, match="identity_match must be one of arn, name"):
        NotifierConfig.from_context({"repositories": ["payments"], "identity_match": "names"}.get)


def test_an_activity_identity_keeps_every_name_for_name_mode() -> None:
    """Name mode still sees the session name, the role name and the ARN (nothing is lost)."""
    assert identity(SESSION_ALICE) == Identity(SESSION_ALICE, "alice", role_name="Dev")


@pytest.mark.slow
def test_the_stack_prints_the_warning_at_synth(tmp_path_factory: pytest.TempPathFactory) -> None:
    from aws_cdk import App
    from aws_cdk.assertions import Annotations, Match

    import app as entry
    from tests.test_stack import CDK_CONTEXT

    context = {**CDK_CONTEXT, "aws:cdk:bundling-stacks": [], "filters": [{"actors": ["ci-*"]}]}
    app = App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stack = entry.build_app(app)
    app.synth()
    Annotations.from_stack(stack).has_warning(
        "*", Match.string_like_regexp(r"filters\[0\]\.actors 'ci-\*' is a name, and identity_match is arn")
    )
