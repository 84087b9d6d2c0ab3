"""Chat actions: who acts, the permission table, and each review action's outcome and refusals,
as the person (handler/actions/)."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

import pytest

from handler.actions.assume import AssumedRoleContext
from handler.actions.context import Actor
from handler.actions.permissions import (
    DEFAULT_PERMISSIONS,
    PullRequestFacts,
    decide,
    parse_chat_permissions,
)
from handler.actions.session import ChatSession, ChatSettings, ClickedMessage
from handler.actions.who import UNMAPPED, actor_for, session_name
from handler.actions.work import WorkEdges, finish
from handler.deliver.destinations import parse_destinations
from handler.demos.review_api import ReviewBook, StoredPullRequest, StsStandIn, stand_in_clients
from handler.pull_requests.people import UserMap
from handler.render.actions import APPROVE, MERGE, REVOKE, ButtonTarget, target_in, with_buttons
from handler.render.mrkdwn import escape
from handler.state.chat_comments import came_from_chat
from handler.state.memory import MemoryStore

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CodeCommitChatActor"
ALICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice@example.com"
BOB_KEY = f"arn:aws:iam::{ACCOUNT}:user/bob"
BOB_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/CodeCommitChatActor/bob"
USER_MAP = UserMap.parse(
    f'{{"{BOB_KEY}": "U0BOB0001", "alice@example.com": "U0ALICE01", "carol": "U0CAROL01"}}'
)
DESTINATIONS = parse_destinations(
    {
        "reviews": {
            "type": "slack-app",
            "channel": "C0REVIEWS1",
            "interactive": True,
            "merge_strategy": "squash",
        }
    }
)
TARGET = ButtonTarget("reviews", "my-repo", "12", "rev-1")
BOB = Actor(BOB_KEY, "U0BOB0001", "bob")


def pull_request(**changes: Any) -> StoredPullRequest:
    fields: dict[str, Any] = {
        "pull_request_id": "12",
        "repository": "my-repo",
        "title": "Add retries",
        "author_arn": ALICE,
        "source_commit": "a" * 40,
        "destination_commit": "b" * 40,
        "revision_id": "rev-1",
    }
    return StoredPullRequest(**{**fields, **changes})


class Slack:
    """The work's Slack edges, recording."""

    def __init__(self, parent: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._parent = parent

    def respond(self, response_url: str, text: str, *, public: bool = False) -> None:
        self.calls.append(("respond", text))

    def post_ephemeral(self, channel: str, user: str, text: str, thread_ts: str | None) -> None:
        self.calls.append(("ephemeral", (user, text, thread_ts)))

    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        self.calls.append(("update", (channel, ts, payload)))

    def parent(self, channel: str, thread_ts: str) -> dict[str, Any] | None:
        self.calls.append(("parent", thread_ts))
        return self._parent

    def react(self, channel: str, ts: str, name: str) -> None:
        self.calls.append(("react", (ts, name)))


class World:
    """A CodeCommit book, STS, state and Slack, all recording."""

    def __init__(
        self, pr: StoredPullRequest | None = None, *, permissions: str = "", parent: Any = None
    ) -> None:
        self.book = ReviewBook(account=ACCOUNT)
        self.book.add(pr or pull_request())
        self.sts = StsStandIn(account=ACCOUNT)
        self.state = MemoryStore()
        self.slack = Slack(parent)
        self.settings = ChatSettings(
            permissions=parse_chat_permissions(permissions) if permissions else DEFAULT_PERMISSIONS,
            watched=frozenset({"my-repo"}),
            destinations=DESTINATIONS,
            user_map=USER_MAP,
        )

    def edges(self) -> WorkEdges:
        base = stand_in_clients(self.book, self.sts)
        return WorkEdges(
            settings=self.settings,
            clients_as=lambda actor: AssumedRoleContext(actor, ROLE, base).client,
            slack=self.slack,
            state=self.state,
            region="eu-west-1",
            clock=time.time,
        )

    def click(self, action_id: str, user: str = "U0BOB0001", target: ButtonTarget = TARGET) -> Any:
        message = with_buttons({"text": "PR #12", "attachments": [{"title": "#12 Add retries"}]}, target)
        work = {
            "kind": "button",
            "name": action_id,
            "value": target.value(),
            "user": user,
            "channel": "C0REVIEWS1",
            "message_ts": "1700000000.000100",
            "message": {**message, "ts": "1700000000.000100"},
            "response_url": "https://hooks.slack.com/actions/T1/1/abc",
        }
        return finish(work, self.edges())

    @property
    def acting_calls(self) -> list[str]:
        """The CodeCommit calls that change something."""
        return [name for name, _, _ in self.book.calls if not name.startswith(("Get", "Evaluate"))]


# -- who and may --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "session"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/bob", "bob"),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice@example.com", "alice@example.com"),
        ("Ana Núñez", "Ana-N--ez"),
        ("x", "x-"),
        ("a" * 80, "a" * 64),
        ("name with spaces;and|pipes", "name-with-spaces-and-pipes"),
    ],
)
def test_session_names_are_the_keys_in_stss_characters(key: str, session: str) -> None:
    assert session_name(key) == session


def test_the_slack_member_maps_back_to_the_key_as_written() -> None:
    assert actor_for("U0BOB0001", USER_MAP) == BOB
    assert actor_for("U0NOBODY1", USER_MAP) is None


OWN = PullRequestFacts(author_arn=BOB_KEY, author_chat_id="U0BOB0001")
THEIRS = PullRequestFacts(author_arn=ALICE, author_chat_id="U0ALICE01")
SAME_NAME = PullRequestFacts(author_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Other/bob", author_chat_id=None)
CLOSED = PullRequestFacts(author_arn=ALICE, author_chat_id="U0ALICE01", open=False)
LEADS = parse_chat_permissions('{"approve": ["*"], "merge": ["arn:aws:iam::*:user/bob"], "comment": ["*"]}')


@pytest.mark.parametrize(
    ("action", "facts", "permissions", "allowed", "why"),
    [
        ("approve", THEIRS, DEFAULT_PERMISSIONS, True, ""),
        ("comment", THEIRS, DEFAULT_PERMISSIONS, True, ""),
        ("comment", OWN, DEFAULT_PERMISSIONS, True, ""),
        ("approve", None, DEFAULT_PERMISSIONS, True, ""),
        ("merge", THEIRS, DEFAULT_PERMISSIONS, False, "CHAT_PERMISSIONS"),
        ("merge", None, DEFAULT_PERMISSIONS, False, "CHAT_PERMISSIONS"),
        ("deploy", None, DEFAULT_PERMISSIONS, False, "CHAT_PERMISSIONS"),
        ("rollback", None, DEFAULT_PERMISSIONS, False, "CHAT_PERMISSIONS"),
        ("approve_deploy", None, DEFAULT_PERMISSIONS, False, "CHAT_PERMISSIONS"),
        ("merge", THEIRS, LEADS, True, ""),
        ("approve", OWN, DEFAULT_PERMISSIONS, False, "You opened"),
        ("merge", OWN, LEADS, False, "You opened"),
        ("approve", SAME_NAME, DEFAULT_PERMISSIONS, False, "You opened"),
        ("approve", CLOSED, DEFAULT_PERMISSIONS, False, "no longer open"),
        ("merge", CLOSED, LEADS, False, "no longer open"),
        ("approve", THEIRS, parse_chat_permissions('{"approve": ["carol"]}'), False, "CHAT_PERMISSIONS"),
        ("approve", THEIRS, parse_chat_permissions('{"approve": ["BOB"]}'), True, ""),
    ],
)
def test_permissions_table(
    action: str, facts: PullRequestFacts | None, permissions: Any, allowed: bool, why: str
) -> None:
    decision = decide(BOB, action, facts, permissions)
    assert decision.allowed is allowed
    assert why in decision.reason


@pytest.mark.parametrize(
    "text", ["[]", '{"approve": "*"}', '{"approve": [""]}', '{"aprove": ["*"]}', "{", '{"merge": [1]}']
)
def test_bad_chat_permissions_say_what_to_write(text: str) -> None:
    with pytest.raises(ValueError, match=r"approve|JSON|not one of|globs"):
        parse_chat_permissions(text)


# -- the actions ---------------------------------------------------------------------------------


def test_approve_runs_as_the_person_on_the_shown_revision_and_updates_the_message() -> None:
    world = World()
    reply = world.click(APPROVE)
    assert reply.ok, reply.text
    (assumed,) = world.sts.calls
    assert assumed["RoleArn"] == ROLE
    assert assumed["RoleSessionName"] == assumed["SourceIdentity"] == "bob"
    assert world.book.pull_requests["12"].approvals == {BOB_SESSION: "APPROVE"}
    approval = next(args for name, _, args in world.book.calls if name == "UpdatePullRequestApprovalState")
    assert approval["revisionId"] == "rev-1"
    ((_, (channel, ts, payload)),) = [call for call in world.slack.calls if call[0] == "update"]
    assert (channel, ts) == ("C0REVIEWS1", "1700000000.000100")
    assert "Approved by bob" in str(payload["attachments"])
    assert target_in(payload) == TARGET  # the buttons are still there
    assert ("respond", reply.text) in world.slack.calls


def test_revoke_takes_the_approval_back() -> None:
    world = World()
    world.click(APPROVE)
    reply = world.click(REVOKE)
    assert reply.ok
    assert world.book.pull_requests["12"].approvals == {BOB_SESSION: "REVOKE"}


def test_a_revision_that_moved_is_reported_not_approved() -> None:
    world = World(pull_request(revision_id="rev-2"))
    reply = world.click(APPROVE)
    assert not reply.ok
    assert "New commits" in reply.text
    assert world.acting_calls == []
    ((_, (_, _, payload)),) = [call for call in world.slack.calls if call[0] == "update"]
    assert target_in(payload) == ButtonTarget("reviews", "my-repo", "12", "rev-2")  # now shows the new one


def test_self_approval_is_refused_before_codecommit_is_asked() -> None:
    world = World(pull_request(author_arn=BOB_KEY))
    reply = world.click(APPROVE)
    assert not reply.ok and "You opened this pull request" in reply.text
    assert world.acting_calls == []


def test_not_allowed_causes_no_assume_role_at_all() -> None:
    world = World()  # default: nobody may merge
    reply = world.click(MERGE)
    assert not reply.ok and "CHAT_PERMISSIONS" in reply.text
    assert world.sts.calls == [] and world.book.calls == []


def test_an_unwatched_repository_causes_nothing() -> None:
    world = World()
    reply = world.click(APPROVE, target=ButtonTarget("reviews", "secret-repo", "12", "rev-1"))
    assert not reply.ok and "not a repository this notifier watches" in reply.text
    assert world.sts.calls == [] and world.book.calls == []


def test_a_tampered_button_value_causes_nothing() -> None:
    world = World()
    work = {
        "kind": "button",
        "name": APPROVE,
        "value": '{"r":"my-repo"}',
        "user": "U0BOB0001",
        "response_url": "x",
    }
    reply = finish(work, world.edges())
    assert reply is not None and not reply.ok and "does not belong" in reply.text
    assert world.sts.calls == [] and world.book.calls == []


def test_an_unmapped_person_is_told_how_to_get_mapped_and_nothing_else() -> None:
    world = World()
    reply = world.click(APPROVE, user="U0STRANGER")
    assert reply is not None and reply.text == UNMAPPED.format(user="U0STRANGER")
    assert world.sts.calls == [] and world.book.calls == []
    assert world.slack.calls == [("respond", reply.text)]


def test_merge_uses_the_destinations_strategy_and_the_tip_it_checked() -> None:
    world = World(pull_request(approvals={ALICE: "APPROVE"}), permissions='{"merge": ["*"]}')
    reply = world.click(MERGE)
    assert reply.ok, reply.text
    merge = [(name, args) for name, _, args in world.book.calls if name.startswith("Merge")]
    assert merge == [
        (
            "MergePullRequestBySquash",
            {"pullRequestId": "12", "repositoryName": "my-repo", "sourceCommitId": "a" * 40},
        )
    ]
    ((_, (_, _, payload)),) = [call for call in world.slack.calls if call[0] == "update"]
    assert target_in(payload) is None  # merged: no more buttons


def test_merge_waits_for_the_approval_rules() -> None:
    world = World(permissions='{"merge": ["*"]}')
    reply = world.click(MERGE)
    assert not reply.ok and "not satisfied" in reply.text
    assert world.acting_calls == []


def test_a_conflict_is_reported_and_nothing_merged() -> None:
    world = World(pull_request(approvals={ALICE: "APPROVE"}, conflicts=True), permissions='{"merge": ["*"]}')
    reply = world.click(MERGE)
    assert not reply.ok and "does not merge cleanly" in reply.text
    assert not world.book.pull_requests["12"].merged


def test_an_already_merged_pull_request_is_reported() -> None:
    world = World(pull_request(status="CLOSED", merged=True))
    reply = world.click(APPROVE)
    assert not reply.ok and "no longer open" in reply.text
    assert world.acting_calls == []


def test_throttling_is_answered_in_words() -> None:
    world = World()

    def throttled(self: Any, **_: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
            "UpdatePullRequestApprovalState",
        )

    from handler.demos import review_api as demo

    original = demo.ReviewClient.update_pull_request_approval_state
    demo.ReviewClient.update_pull_request_approval_state = throttled  # type: ignore[method-assign]
    try:
        reply = world.click(APPROVE)
    finally:
        demo.ReviewClient.update_pull_request_approval_state = original  # type: ignore[method-assign]
    assert not reply.ok and "throttled" in reply.text
    assert world.book.pull_requests["12"].approvals == {}


def test_the_slash_command_approves_the_current_revision() -> None:
    world = World(pull_request(revision_id="rev-9"))
    work = {
        "kind": "command",
        "name": "approve",
        "args": ["my-repo", "12"],
        "user": "U0BOB0001",
        "response_url": "u",
    }
    reply = finish(work, world.edges())
    assert reply is not None and reply.ok
    assert world.book.pull_requests["12"].approvals == {BOB_SESSION: "APPROVE"}


@pytest.mark.parametrize("args", [[], ["my-repo"], ["my-repo", "twelve"], ["a", "1", "2"]])
def test_the_slash_command_with_bad_arguments_gets_usage(args: list[str]) -> None:
    world = World()
    work = {"kind": "command", "name": "approve", "args": args, "user": "U0BOB0001", "response_url": "u"}
    reply = finish(work, world.edges())
    assert reply is not None and reply.text.startswith("Usage:")
    assert world.sts.calls == []


# -- thread replies ------------------------------------------------------------------------------


def parent_message(app_id: str = "A0NOTIFIER") -> dict[str, Any]:
    payload = with_buttons({"text": "PR #12", "attachments": [{"title": "#12"}]}, TARGET)
    return {**payload, "ts": "1.0", "bot_id": "B0BOT", "app_id": app_id}


def reply_work(event_id: str = "Ev0001", user: str = "U0BOB0001") -> dict[str, Any]:
    return {
        "kind": "thread_reply",
        "user": user,
        "channel": "C0REVIEWS1",
        "thread_ts": "1.0",
        "ts": "2.0",
        "text": "Looks good, one nit: rename `x`",
        "event_id": event_id,
        "app_id": "A0NOTIFIER",
    }


def test_a_thread_reply_becomes_a_comment_as_the_person_marked_and_never_echoed() -> None:
    world = World(parent=parent_message())
    reply = finish(reply_work(), world.edges())
    assert reply is not None and reply.ok
    (comment,) = world.book.comments.values()
    assert comment["authorArn"] == BOB_SESSION
    assert comment["content"] == "Looks good, one nit: rename `x`"
    posted = next(args for name, _, args in world.book.calls if name == "PostCommentForPullRequest")
    assert posted["clientRequestToken"] == "Ev0001"
    assert (posted["beforeCommitId"], posted["afterCommitId"]) == ("b" * 40, "a" * 40)
    assert came_from_chat(world.state, comment["commentId"])  # the pipeline skips its event
    assert ("react", ("2.0", "white_check_mark")) in world.slack.calls


def test_a_retried_thread_reply_never_comments_twice() -> None:
    world = World(parent=parent_message())
    finish(reply_work(), world.edges())
    finish(reply_work(), world.edges())  # Slack's retry: the same event_id
    assert len(world.book.comments) == 1


def test_a_reply_in_a_thread_that_is_not_ours_causes_nothing() -> None:
    for parent in (
        None,
        parent_message(app_id="A0OTHERAPP"),
        {"ts": "1.0", "bot_id": "B", "app_id": "A0NOTIFIER"},
    ):
        world = World(parent=parent)
        assert finish(reply_work(), world.edges()) is None
        assert world.sts.calls == [] and world.book.calls == []
        assert [name for name, _ in world.slack.calls] == ["parent"]


def test_an_unmapped_person_replying_is_told_privately_in_the_thread() -> None:
    world = World(parent=parent_message())
    reply = finish(reply_work(user="U0STRANGER"), world.edges())
    assert reply is not None and not reply.ok
    assert world.book.calls == []
    assert ("ephemeral", ("U0STRANGER", reply.text, "1.0")) in world.slack.calls


def test_the_session_context_is_an_action_context() -> None:
    session = ChatSession(
        BOB, lambda s, r: None, "eu-west-1", ChatSettings(), MemoryStore(), 0, ClickedMessage("C", "1", {})
    )
    assert session.actor is BOB


# -- the calls as botocore's own models take them -----------------------------------------------


def test_the_calls_match_botocores_models() -> None:
    """The same approve and comment, through real botocore clients with Stubber: every parameter
    name and shape is checked against the service models (STS AssumeRole, CodeCommit)."""
    import botocore.session
    from botocore.stub import Stubber

    from handler.actions import review

    session = botocore.session.get_session()
    sts = session.create_client("sts", region_name="eu-west-1")
    codecommit = session.create_client("codecommit", region_name="eu-west-1")
    made: list[tuple[str, dict[str, str] | None]] = []

    def base_client(service: str, region: str, credentials: dict[str, str] | None) -> Any:
        made.append((service, credentials))
        return sts if service == "sts" else codecommit

    credentials = {
        "AccessKeyId": "ASIAEXAMPLEEXAMPLE00",
        "SecretAccessKey": "secret",
        "SessionToken": "token",
        "Expiration": "2030-01-01T00:00:00Z",
    }
    raw_pr = {
        "pullRequestId": "12",
        "authorArn": ALICE,
        "pullRequestStatus": "OPEN",
        "revisionId": "rev-1",
        "pullRequestTargets": [
            {"repositoryName": "my-repo", "sourceCommit": "a" * 40, "destinationCommit": "b" * 40}
        ],
    }
    with Stubber(sts) as sts_stub, Stubber(codecommit) as stub:
        sts_stub.add_response(
            "assume_role",
            {"Credentials": credentials, "SourceIdentity": "bob"},
            {
                "RoleArn": ROLE,
                "RoleSessionName": "bob",
                "SourceIdentity": "bob",
                "DurationSeconds": 900,
            },
        )
        stub.add_response("get_pull_request", {"pullRequest": raw_pr}, {"pullRequestId": "12"})
        stub.add_response(
            "update_pull_request_approval_state",
            {},
            {"pullRequestId": "12", "revisionId": "rev-1", "approvalState": "APPROVE"},
        )
        stub.add_response(
            "evaluate_pull_request_approval_rules",
            {"evaluation": {"approved": True}},
            {"pullRequestId": "12", "revisionId": "rev-1"},
        )
        stub.add_response("get_pull_request", {"pullRequest": raw_pr}, {"pullRequestId": "12"})
        stub.add_response(
            "post_comment_for_pull_request",
            {"comment": {"commentId": "c-1"}},
            {
                "pullRequestId": "12",
                "repositoryName": "my-repo",
                "beforeCommitId": "b" * 40,
                "afterCommitId": "a" * 40,
                "content": "LGTM",
                "clientRequestToken": "Ev0001",
            },
        )
        context = AssumedRoleContext(BOB, ROLE, base_client)
        chat = ChatSession(
            BOB, context.client, "eu-west-1", World().settings, MemoryStore(), int(time.time())
        )
        assert review.approve(chat, TARGET.value()).ok
        assert review.comment(chat, TARGET.value(), "LGTM", token="Ev0001").ok
        stub.assert_no_pending_responses()
        sts_stub.assert_no_pending_responses()
    assert made[0] == ("sts", None)
    assert made[1][1] == {
        "aws_access_key_id": "ASIAEXAMPLEEXAMPLE00",
        "aws_secret_access_key": "secret",
        "aws_session_token": "token",
    }


@pytest.mark.parametrize(
    ("slack", "comment"),
    [
        ("LGTM", "LGTM"),
        ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
        ("see <https://example.com/x|the doc>", "see the doc (https://example.com/x)"),
        ("see <https://example.com/x>", "see https://example.com/x"),
        ("ping <@U0BOB0001>", "ping @U0BOB0001"),
        ("in <#C0REVIEWS1|reviews>", "in #reviews"),
        ("<!here> look", "@here look"),
        ("&amp;lt; stays literal", "&lt; stays literal"),
    ],
)
def test_a_replys_slack_markup_becomes_what_its_author_typed(slack: str, comment: str) -> None:
    from handler.actions.slack_text import comment_text

    assert comment_text(slack) == comment


def test_a_reply_with_a_link_is_posted_as_the_author_wrote_it() -> None:
    world = World(parent=parent_message())
    work = {**reply_work(), "text": "see <https://example.com/x|the doc> &amp; fix"}
    finish(work, world.edges())
    (comment,) = world.book.comments.values()
    assert comment["content"] == "see the doc (https://example.com/x) & fix"


def test_every_family_of_actions_is_in_the_tables_and_the_usage() -> None:
    """The review queue, the review actions and the pipelines answer from one front door; the gate's
    button ids are the pipeline renderer's own (the table spells them out to stay light)."""
    from handler.actions import table
    from handler.render import pipeline

    assert set(table.SUBCOMMANDS) == {"prs", "approve", "merge", "remind", "deploy", "status", "rollback"}
    assert {pipeline.APPROVE_DEPLOY, pipeline.REJECT_DEPLOY} <= set(table.BUTTONS)
    for name in table.SUBCOMMANDS:
        assert f"/codecommit {name}" in table.usage()
    for entry in [*table.SUBCOMMANDS.values(), *table.BUTTONS.values()]:
        module, _, name = (entry.__doc__ or "").partition(", imported")[0].rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), entry.__doc__


# -- review findings: typed text is inert in the reply; one session name is one person ----------

HOSTILE = ["<!channel>", "<!here>", "<@U0EVE0001>", "<https://evil.example|click me>"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_typed_repository_is_echoed_inert(hostile: str) -> None:
    world = World()
    work = {
        "kind": "command",
        "name": "approve",
        "args": [hostile, "12"],
        "user": "U0BOB0001",
        "response_url": "u",
    }
    reply = finish(work, world.edges())
    assert reply is not None and not reply.ok and "not a repository this notifier watches" in reply.text
    assert hostile not in reply.text and escape(hostile) in reply.text
    assert world.sts.calls == [] and world.book.calls == []


@pytest.mark.parametrize(
    "keys",
    [
        (f"arn:aws:iam::{ACCOUNT}:user/alice", "arn:aws:iam::210987654321:user/alice"),
        ("alice smith", "alice-smith"),
        (f"arn:aws:iam::{ACCOUNT}:user/alice", "alice"),
        ("Alice", "alice"),
    ],
)
def test_two_people_whose_keys_reduce_to_one_session_name_act_as_nobody(keys: tuple[str, str]) -> None:
    """CodeCommit and CloudTrail (and approval pools) see only the session name: if two members'
    keys reduce to the same one, either would act as the other. Nothing happens; they are told why."""
    first, second = keys
    world = World()
    world.settings = ChatSettings(
        permissions=DEFAULT_PERMISSIONS,
        watched=frozenset({"my-repo"}),
        destinations=DESTINATIONS,
        user_map=UserMap.parse(json.dumps({first: "U0ALICE01", second: "U0EVE0001"})),
    )
    reply = world.click(APPROVE, user="U0EVE0001")
    assert reply is not None and not reply.ok and "USER_MAP" in reply.text, reply.text
    assert world.sts.calls == [] and world.book.calls == []
    assert world.book.pull_requests["12"].approvals == {}


@pytest.mark.parametrize(
    "user_map",
    [
        {BOB_KEY: "U0BOB0001", "bob": "U0BOB0001"},  # one member under two keys
        {BOB_KEY: "U0BOB0001", "bob": {"mattermost": "bob"}},  # nobody else who can act from Slack
    ],
)
def test_one_person_under_two_keys_still_acts(user_map: dict[str, Any]) -> None:
    """An ARN and a name for the same member are one person, not a collision."""
    world = World()
    world.settings = ChatSettings(
        permissions=DEFAULT_PERMISSIONS,
        watched=frozenset({"my-repo"}),
        destinations=DESTINATIONS,
        user_map=UserMap.parse(json.dumps(user_map)),
    )
    reply = world.click(APPROVE)
    assert reply is not None and reply.ok, reply.text


def test_a_replayed_request_acts_once() -> None:
    """A signed request captured and sent again inside Slack's 300 s window (or handed-on work that
    Lambda runs twice) carries the same trigger_id: the second causes nothing (no AssumeRole)."""
    world = World()
    work = {
        "kind": "command",
        "name": "approve",
        "args": ["my-repo", "12"],
        "user": "U0BOB0001",
        "response_url": "u",
        "request": "13345224609.738474920.8088930838d88f008e0",
    }
    first = finish(work, world.edges())
    assert first is not None and first.ok
    calls = (len(world.sts.calls), len(world.book.calls), len(world.slack.calls))
    assert finish(dict(work), world.edges()) is None
    assert (len(world.sts.calls), len(world.book.calls), len(world.slack.calls)) == calls
    other = finish({**work, "request": "another.trigger.id"}, world.edges())
    assert other is not None and other.ok  # a new request, typed again, does act


def test_work_that_fails_releases_its_claim_so_lambdas_retry_acts() -> None:
    world = World()
    work = {
        "kind": "button",
        "name": APPROVE,
        "value": TARGET.value(),
        "user": "U0BOB0001",
        "response_url": "u",
        "request": "1.2.retry",
    }
    edges = world.edges()

    def broken(actor: Actor) -> Any:
        raise RuntimeError("the container died mid-way")

    with pytest.raises(RuntimeError):
        finish(work, WorkEdges(**{**edges.__dict__, "clients_as": broken}))
    reply = finish(work, edges)
    assert reply is not None and reply.ok, reply
