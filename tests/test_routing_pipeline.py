"""Routing end to end: ``process_event`` with DESTINATIONS and ROUTES, every destination a real
stand-in on 127.0.0.1 (Slack webhooks, a Mattermost webhook, the Slack Web API), their URLs and
the bot token in a Secrets Manager secret (moto), and the state in a :class:`MemoryStore`.

Pushes read the scenario repository (tests/scenarios.py); pull-request events are played through
the CodeCommit stand-in's pull-request book (tests/pull_request_scenarios.py).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handler.app import process_event
from handler.deadline import Deadline
from handler.deliver.webhook_url import DestinationSecrets
from handler.demo import trigger_event
from handler.enrich.gitreader import LocalGitReader
from handler.enrich.pull_request_reader import CodeCommitPullRequestReader
from handler.errors import NotifierError
from handler.pull_requests.settings import PullRequestSettings
from handler.runtime import PullRequestRuntime, Runtime
from handler.settings import Settings
from handler.state.ledger import DeliveryInProgress
from handler.state.memory import MemoryStore
from tests.conftest import codecommit_client
from tests.pull_request_scenarios import (
    ALICE,
    BOB,
    CAROL,
    USER_MAP,
    Scenario,
    build_scenarios,
    pull_request,
    state_event,
)
from tests.scenarios import ScenarioRepo
from tests.standins import codecommit, mattermost, slack, slack_web_api
from tests.standins.mattermost import MattermostStandIn
from tests.standins.pull_requests import StoredPullRequest, rule_content
from tests.standins.slack import Reply, SlackStandIn
from tests.standins.slack_web_api import SlackWebApiStandIn

ACCOUNT_ARN = "arn:aws:codecommit:us-east-2:111122223333"
PUSHER = "arn:aws:iam::111122223333:user/alice"
CI_PUSHER = "arn:aws:iam::111122223333:user/ci-builder"
CHANNEL = "C0REVIEWS01"
_ids = itertools.count(1)

DESTINATIONS = {
    "payments": {"type": "slack-webhook"},
    "mm": {"type": "mattermost-webhook"},
    "app": {"type": "slack-app", "channel": CHANNEL, "secret": "bot"},
    "app-dm": {"type": "slack-app", "channel": CHANNEL, "secret": "bot", "direct_messages": True},
}
PUSH_ROUTES = {
    "routes": [
        {"repositories": ["payments"], "refs": ["main"], "events": ["push"], "to": ["payments", "mm"]}
    ],
    # the CI user by ARN glob: IDENTITY_MATCH=arn (the default) matches full ARNs only
    "filters": [{"actors": ["arn:aws:iam::111122223333:user/ci-*"]}, {"refs": ["dependabot/*"]}],
}


@dataclass
class World:
    """Every stand-in, and a way to make a runtime over them."""

    default: SlackStandIn
    payments: SlackStandIn
    mm: MattermostStandIn
    api: SlackWebApiStandIn
    reader: LocalGitReader
    secrets_made: list[str] = field(default_factory=list)

    def secret(self, *, with_default: bool = True) -> str:
        values = {"payments": self.payments.url, "mm": self.mm.url, "bot": slack_web_api.TOKEN}
        if with_default:
            values["default"] = self.default.url
        client = boto3.client("secretsmanager", region_name="us-east-2")
        arn: str = client.create_secret(Name=f"notifier-{next(_ids)}", SecretString=json.dumps(values))["ARN"]
        return arn

    def runtime(
        self,
        routes: dict[str, Any] | None = None,
        *,
        with_default: bool = True,
        environ: dict[str, str] | None = None,
    ) -> Runtime:
        variables = {"DESTINATIONS": json.dumps(DESTINATIONS), **(environ or {})}
        if routes is not None:
            variables["ROUTES"] = json.dumps(routes)
        settings = Settings.from_environ(variables)
        secrets = DestinationSecrets(
            url=None,
            secret_arn=self.secret(with_default=with_default),
            secrets_client=lambda region: boto3.client("secretsmanager", region_name=region or "us-east-2"),
        )
        reader = self.reader
        return Runtime(
            settings=settings,
            reader_for=lambda repository: reader,
            secrets=secrets,
            state=MemoryStore(),
            slack_api_url=self.api.base_url,
        )

    def posted(self) -> dict[str, int]:
        return {
            "default": len(self.default.delivered),
            "payments": len(self.payments.delivered),
            "mm": len(self.mm.delivered),
            "app": len(self.api.calls),
        }


@pytest.fixture
def world(scenario_repo: ScenarioRepo) -> Iterator[World]:
    with (
        slack.running() as default,
        slack.running() as payments,
        mattermost.running() as mm,
        slack_web_api.running() as api,
        mock_aws(),
    ):
        yield World(default, payments, mm, api, LocalGitReader(scenario_repo.path))


def push_event(repository: str, *refs: tuple[str, str], pusher: str = PUSHER) -> dict[str, Any]:
    """A trigger event for ``repository`` moving each (full ref, commit): a push to an existing
    branch (kind ``push``); with no head recorded, its tip is shown."""
    event_id = f"00000000-0000-4000-8000-{next(_ids):012d}"
    return trigger_event(
        [{"commit": commit, "ref": ref} for ref, commit in refs],
        pusher_arn=pusher,
        repository_arn=f"{ACCOUNT_ARN}:{repository}",
        event_id=event_id,
    )


def text_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def outcome_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if hasattr(record, "outcome")]


# -- pushes ---------------------------------------------------------------------------------------


def test_without_routes_everything_goes_to_default(world: World, scenario_repo: ScenarioRepo) -> None:
    runtime = world.runtime()
    root = scenario_repo.commits["root"]
    for repository in ("payments", "elsewhere"):
        event = push_event(repository, ("refs/heads/main", root))
        assert process_event(event, runtime, Deadline(None)) == {"delivered": 1}
    assert world.posted() == {"default": 2, "payments": 0, "mm": 0, "app": 0}
    assert all("mrkdwn_in" in text_of(payload) for payload in world.default.delivered)


def test_a_routed_push_reaches_each_destination_once_in_its_own_dialect(
    world: World, scenario_repo: ScenarioRepo
) -> None:
    runtime = world.runtime(PUSH_ROUTES)
    event = push_event("payments", ("refs/heads/main", scenario_repo.commits["merge"]))
    assert process_event(event, runtime, Deadline(None)) == {"delivered": 1}
    assert world.posted() == {"default": 0, "payments": 1, "mm": 1, "app": 0}
    [slack_payload] = world.payments.delivered
    [mm_payload] = world.mm.delivered
    slack_text, mm_text = text_of(slack_payload), text_of(mm_payload)
    assert "mrkdwn_in" in slack_text and "<http" in slack_text
    assert "mrkdwn_in" not in mm_text and "**" in mm_text
    assert "<http" not in mm_text and "](http" in mm_text
    assert "blocks" not in mm_payload
    # a redelivery posts nowhere again
    assert process_event(event, runtime, Deadline(None)) == {"delivered": 0, "duplicate": 1}
    assert world.posted() == {"default": 0, "payments": 1, "mm": 1, "app": 0}


def test_a_push_no_route_matches_goes_to_default(world: World, scenario_repo: ScenarioRepo) -> None:
    runtime = world.runtime(PUSH_ROUTES)
    root = scenario_repo.commits["root"]
    process_event(push_event("inventory", ("refs/heads/main", root)), runtime, Deadline(None))
    process_event(push_event("payments", ("refs/heads/develop", root)), runtime, Deadline(None))
    assert world.posted() == {"default": 2, "payments": 0, "mm": 0, "app": 0}


@pytest.mark.parametrize(
    ("ref", "pusher", "reason"),
    [
        ("refs/heads/main", CI_PUSHER, "filtered by filters[0] (actors arn:aws:iam::111122223333:user/ci-*)"),
        ("refs/heads/dependabot/npm/lodash-4.17.21", PUSHER, "filtered by filters[1] (refs dependabot/*)"),
    ],
    ids=["ci-actor", "dependabot-branch"],
)
def test_a_filtered_push_posts_nothing_and_is_logged_as_filtered(
    world: World,
    scenario_repo: ScenarioRepo,
    caplog: pytest.LogCaptureFixture,
    ref: str,
    pusher: str,
    reason: str,
) -> None:
    runtime = world.runtime(PUSH_ROUTES)
    event = push_event("payments", (ref, scenario_repo.commits["root"]), pusher=pusher)
    with caplog.at_level(logging.INFO, logger="handler"):
        assert process_event(event, runtime, Deadline(None)) == {"delivered": 0, "filtered": 1}
    assert world.posted() == {"default": 0, "payments": 0, "mm": 0, "app": 0}
    [line] = outcome_lines(caplog)
    assert getattr(line, "outcome", None) == "filtered"
    assert reason in getattr(line, "reason", "")


def test_an_unrouted_push_without_a_default_is_dropped_with_a_reason(
    world: World, scenario_repo: ScenarioRepo, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = world.runtime(PUSH_ROUTES, with_default=False)
    event = push_event("inventory", ("refs/heads/main", scenario_repo.commits["root"]))
    with caplog.at_level(logging.INFO, logger="handler"):
        assert process_event(event, runtime, Deadline(None)) == {"delivered": 0, "filtered": 1}
    assert world.posted() == {"default": 0, "payments": 0, "mm": 0, "app": 0}
    [line] = outcome_lines(caplog)
    assert getattr(line, "outcome", None) == "filtered"
    assert "no route matched and no default destination" in getattr(line, "reason", "")


def test_each_destination_of_a_two_ref_push_names_only_its_reference(
    world: World, scenario_repo: ScenarioRepo
) -> None:
    routes = {
        "routes": [
            {"refs": ["team-a/*"], "to": ["payments"]},
            {"refs": ["team-b/*"], "to": ["mm"]},
        ]
    }
    runtime = world.runtime(routes)
    event = push_event(
        "payments",
        ("refs/heads/team-a/alpha", scenario_repo.commits["root"]),
        ("refs/heads/team-b/beta", scenario_repo.commits["i18n"]),
    )
    assert process_event(event, runtime, Deadline(None)) == {"delivered": 1}
    assert world.posted() == {"default": 0, "payments": 1, "mm": 1, "app": 0}
    slack_text, mm_text = text_of(world.payments.delivered[0]), text_of(world.mm.delivered[0])
    assert "team-a/alpha" in slack_text and "team-b/beta" not in slack_text
    assert "team-b/beta" in mm_text and "team-a/alpha" not in mm_text
    assert "Übersetzung" in mm_text and "Übersetzung" not in slack_text


@pytest.mark.parametrize(
    "failure",
    [Reply(500, mattermost.SERVER_ERROR.body), Reply(404, "404 page not found")],
    ids=["500s-until-exhausted", "permanent-404"],
)
def test_after_one_destination_fails_the_retry_posts_only_to_it(
    world: World, scenario_repo: ScenarioRepo, failure: Reply
) -> None:
    runtime = world.runtime(PUSH_ROUTES, environ={"DELIVERY_MAX_ATTEMPTS": "2"})
    event = push_event("payments", ("refs/heads/main", scenario_repo.commits["merge"]))
    world.mm.default = failure
    with pytest.raises(NotifierError):
        process_event(event, runtime, Deadline(None))
    assert world.posted() == {"default": 0, "payments": 1, "mm": 0, "app": 0}
    assert world.mm.requests >= 1
    world.mm.default = Reply()
    assert process_event(event, runtime, Deadline(None)) == {"delivered": 1}
    assert world.posted() == {"default": 0, "payments": 1, "mm": 1, "app": 0}
    assert process_event(event, runtime, Deadline(None)) == {"delivered": 0, "duplicate": 1}
    assert world.posted() == {"default": 0, "payments": 1, "mm": 1, "app": 0}


# -- pull requests --------------------------------------------------------------------------------


@dataclass
class Book:
    """The CodeCommit stand-in's pull requests: the shared scenarios, and the client to read them."""

    stand_in: codecommit.CodeCommitStandIn
    scenarios: dict[str, Scenario]


@pytest.fixture(scope="module")
def book() -> Iterator[Book]:
    with codecommit.running({}) as stand_in:
        yield Book(stand_in, build_scenarios(stand_in.pull_requests))


def with_pull_requests(runtime: Runtime, book: Book) -> Runtime:
    """``runtime`` reading pull requests from the stand-in, drafts and threads in its own store."""
    # the scenarios' map keys some people by name (the author among them), as the goldens do:
    # IDENTITY_MATCH=name reads those keys (tests/test_identity.py covers the default, arn)
    settings = PullRequestSettings.from_environ({"USER_MAP": json.dumps(USER_MAP), "IDENTITY_MATCH": "name"})
    client = codecommit_client(book.stand_in.url)
    runtime.pull_requests = PullRequestRuntime(
        load_settings=lambda: settings,
        reader_for=lambda repository: CodeCommitPullRequestReader(client),
        state=MemoryStore(),  # the ledger's clock is the real one: so is the store's
    )
    return runtime


def play(runtime: Runtime, event: dict[str, Any]) -> dict[str, int]:
    return process_event(event, runtime, Deadline(None))


BY_KIND = {"routes": [{"events": ["pull_request"], "to": ["app"]}, {"events": ["comment"], "to": ["mm"]}]}


def test_pull_request_events_are_routed_by_kind(world: World, book: Book) -> None:
    runtime = with_pull_requests(world.runtime(BY_KIND), book)
    assert play(runtime, book.scenarios["opened"].events[0]) == {"delivered": 1}
    assert world.posted() == {"default": 0, "payments": 0, "mm": 0, "app": 1}
    [call] = world.api.calls
    assert (call.method, call.channel, call.thread_ts) == ("chat.postMessage", CHANNEL, None)
    assert "Passkey login" in text_of(call.payload)

    assert play(runtime, book.scenarios["comment_inline"].events[0]) == {"delivered": 1}
    assert world.posted() == {"default": 0, "payments": 0, "mm": 1, "app": 1}
    comment = text_of(world.mm.delivered[0])
    assert "Should this be" in comment and "mrkdwn_in" not in comment and "<http" not in comment

    assert play(runtime, book.scenarios["approved"].events[0]) == {"delivered": 1}  # no route: default
    assert world.posted() == {"default": 1, "payments": 0, "mm": 1, "app": 1}


def test_a_filtered_pull_request_event_posts_nothing(world: World, book: Book) -> None:
    routes = {**BY_KIND, "filters": [{"actors": [ALICE]}]}
    runtime = with_pull_requests(world.runtime(routes), book)
    assert play(runtime, book.scenarios["opened"].events[0]) == {"delivered": 0, "filtered": 1}
    assert world.posted() == {"default": 0, "payments": 0, "mm": 0, "app": 0}


def test_a_pull_request_routed_to_two_destinations_is_retried_only_where_it_failed(
    world: World, book: Book
) -> None:
    routes = {"routes": [{"events": ["pull_request"], "to": ["payments", "mm"]}]}
    runtime = with_pull_requests(world.runtime(routes, environ={"DELIVERY_MAX_ATTEMPTS": "1"}), book)
    event = book.scenarios["opened"].events[0]
    world.mm.default = Reply(500, mattermost.SERVER_ERROR.body)
    with pytest.raises(NotifierError):
        play(runtime, event)
    assert world.posted() == {"default": 0, "payments": 1, "mm": 0, "app": 0}
    world.mm.default = Reply()
    assert play(runtime, event) == {"delivered": 1}
    assert play(runtime, event) == {"delivered": 0, "duplicate": 1}
    assert world.posted() == {"default": 0, "payments": 1, "mm": 1, "app": 0}


# -- app mode: one thread per pull request ---------------------------------------------------------

APP_ROUTES = {"routes": [{"to": ["app"]}]}
ONE_REVIEWER = [("one", rule_content(1, [BOB]))]


def lifecycle(book: Book, pull_request_id: str) -> tuple[StoredPullRequest, dict[str, dict[str, Any]]]:
    """A new pull request that needs BOB's approval, and its opened / approved / merged events."""
    stored = book.stand_in.pull_requests.add_pull_request(
        pull_request(pull_request_id, f"Thread {pull_request_id}", rules=ONE_REVIEWER)
    )
    prefix = f"ev-{pull_request_id}"
    events = {
        "opened": state_event("pullRequestCreated", stored, caller=ALICE, event_id=f"{prefix}-open"),
        "approved": state_event(
            "pullRequestApprovalStateChanged",
            stored,
            caller=BOB,
            event_id=f"{prefix}-approve",
            approvalStatus="APPROVE",
        ),
        "merged": state_event(
            "pullRequestMergeStatusUpdated",
            stored,
            caller=BOB,
            event_id=f"{prefix}-merge",
            isMerged="True",
            mergeOption="SQUASH_MERGE",
            pullRequestStatus="Closed",
        ),
    }
    return stored, events


def merge(book: Book, stored: StoredPullRequest) -> None:
    stored.status = "CLOSED"
    stored.merged_by = BOB
    stored.merge_option = "SQUASH_MERGE"


def parents(api: SlackWebApiStandIn) -> list[str]:
    """The timestamps of the channel's messages that are not replies, oldest first."""
    return sorted(ts for (channel, ts), message in api.messages.items() if "thread_ts" not in message)


def shown(api: SlackWebApiStandIn, ts: str) -> str:
    return text_of(api.messages[(CHANNEL, ts)])


def test_a_pull_requests_life_is_one_thread_whose_parent_shows_where_it_stands(
    world: World, book: Book
) -> None:
    runtime = with_pull_requests(world.runtime(APP_ROUTES), book)
    stored, events = lifecycle(book, "60")
    assert play(runtime, events["opened"]) == {"delivered": 1}
    [parent] = world.api.calls
    assert (parent.method, parent.channel, parent.thread_ts) == ("chat.postMessage", CHANNEL, None)
    [parent_ts] = [ts for (_, ts) in world.api.messages]

    book.stand_in.pull_requests.approve("60", BOB)
    assert play(runtime, events["approved"]) == {"delivered": 1}
    reply, update = world.api.calls[1:]
    assert (reply.method, reply.thread_ts) == ("chat.postMessage", parent_ts)
    assert (update.method, update.payload.get("ts")) == ("chat.update", parent_ts)
    assert "Approved" in shown(world.api, parent_ts)

    merge(book, stored)
    assert play(runtime, events["merged"]) == {"delivered": 1}
    reply, update = world.api.calls[3:]
    assert (reply.method, reply.thread_ts) == ("chat.postMessage", parent_ts)
    assert (update.method, update.payload.get("ts")) == ("chat.update", parent_ts)
    assert "Merged" in shown(world.api, parent_ts) and "Approved" not in shown(world.api, parent_ts)

    calls = len(world.api.calls)
    assert play(runtime, events["approved"]) == {"delivered": 0, "duplicate": 1}
    assert len(world.api.calls) == calls
    assert world.posted()["default"] == 0


def test_a_first_event_that_is_not_the_opening_posts_the_card_then_replies(world: World, book: Book) -> None:
    runtime = with_pull_requests(world.runtime(APP_ROUTES), book)
    _, events = lifecycle(book, "61")
    book.stand_in.pull_requests.approve("61", BOB)
    assert play(runtime, events["approved"]) == {"delivered": 1}
    card, reply = world.api.calls
    assert (card.method, card.thread_ts) == ("chat.postMessage", None)
    [card_ts] = parents(world.api)
    assert (reply.method, reply.thread_ts) == ("chat.postMessage", card_ts)
    assert "Approved" in shown(world.api, card_ts)


def test_a_deleted_parent_is_logged_and_the_next_event_starts_a_new_thread(
    world: World, book: Book, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = with_pull_requests(world.runtime(APP_ROUTES), book)
    stored, events = lifecycle(book, "62")
    play(runtime, events["opened"])
    [first_ts] = [ts for (_, ts) in world.api.messages]
    book.stand_in.pull_requests.approve("62", BOB)
    world.api.script = [None, slack_web_api.error("message_not_found")]  # the reply posts, the edit fails
    with caplog.at_level(logging.WARNING):
        assert play(runtime, events["approved"]) == {"delivered": 1}
    assert [call.error for call in world.api.calls[1:]] == [None, "message_not_found"]
    assert any("gone" in record.getMessage() for record in caplog.records)

    merge(book, stored)
    assert play(runtime, events["merged"]) == {"delivered": 1}
    card, reply = world.api.calls[3:]
    assert (card.method, card.thread_ts) == ("chat.postMessage", None)
    [_, new_ts] = parents(world.api)  # a second thread, under a new parent
    assert new_ts != first_ts
    assert (reply.method, reply.thread_ts) == ("chat.postMessage", new_ts)
    assert "Merged" in shown(world.api, new_ts)


@pytest.mark.parametrize("direct_messages", [True, False])
def test_ping_reviewers_direct_messages_the_reviewers_only_when_asked(
    world: World, book: Book, direct_messages: bool
) -> None:
    destination = "app-dm" if direct_messages else "app"
    runtime = with_pull_requests(world.runtime({"routes": [{"to": [destination]}]}), book)
    assert play(runtime, book.scenarios["ping_reviewers"].events[0]) == {"delivered": 1}
    opened = world.api.calls_to("conversations.open")
    in_channel = [call for call in world.api.calls_to("chat.postMessage") if call.channel == CHANNEL]
    assert len(in_channel) == 2  # the card, then the command as its first reply
    if not direct_messages:
        assert opened == []
        assert all(call.channel == CHANNEL for call in world.api.calls)
        return
    people = {str(call.payload.get("users")) for call in opened}
    assert {USER_MAP[BOB], USER_MAP[CAROL]} <= people
    assert USER_MAP["alice"] not in people  # the one who asked is not pinged
    direct = {call.channel for call in world.api.calls_to("chat.postMessage") if call.channel != CHANNEL}
    assert direct == {"D" + user[1:] for user in people}
    assert all(call.error is None for call in world.api.calls)


class AnotherStartsTheThread(MemoryStore):
    """A store where, the first time, another invocation wins the race to start a thread."""

    lost = False

    def put_new(self, key: str, attributes: Any, *, expires_at: int | None) -> Any:
        if key.startswith("thread#") and not self.lost:
            self.lost = True
            return None
        return super().put_new(key, attributes, expires_at=expires_at)


def test_two_first_events_at_once_start_one_thread(world: World, book: Book) -> None:
    runtime = with_pull_requests(world.runtime(APP_ROUTES), book)
    assert isinstance(runtime.pull_requests, PullRequestRuntime)
    runtime.pull_requests.state = store = AnotherStartsTheThread()
    _, events = lifecycle(book, "63")
    with pytest.raises(DeliveryInProgress):  # Lambda retries it once the other has posted
        play(runtime, events["opened"])
    assert store.lost and world.api.calls == []  # nothing posted: no second parent
    assert play(runtime, events["opened"]) == {"delivered": 1}
    assert len(parents(world.api)) == 1


def test_ready_for_review_reaches_each_destination_once_while_another_keeps_failing(
    world: World, book: Book
) -> None:
    routes = {"routes": [{"events": ["pull_request"], "to": ["payments", "mm"]}]}
    runtime = with_pull_requests(world.runtime(routes, environ={"DELIVERY_MAX_ATTEMPTS": "1"}), book)
    stored = book.stand_in.pull_requests.add_pull_request(pull_request("64", "Draft: cache warmer"))
    assert play(runtime, state_event("pullRequestCreated", stored, caller=ALICE, event_id="ev-64-open")) == {
        "delivered": 0,
        "filtered": 1,
    }  # a draft: nothing posted, the draft remembered
    stored.title = "Cache warmer"
    stored.source_commit = "2" * 40
    pushed = state_event("pullRequestSourceBranchUpdated", stored, caller=ALICE, event_id="ev-64-push")
    world.mm.default = Reply(404, "Unable to find the webhook")  # broken until someone fixes it
    with pytest.raises(NotifierError):
        play(runtime, pushed)  # payments: "ready for review" (alone: one event, one message); mm refused
    assert world.posted()["payments"] == 1
    stored.source_commit = "3" * 40
    again = state_event("pullRequestSourceBranchUpdated", stored, caller=ALICE, event_id="ev-64-push-2")
    with pytest.raises(NotifierError):
        play(runtime, again)
    texts = [text_of(payload) for payload in world.payments.delivered]
    assert len(texts) == 2 and sum("ready for review" in text for text in texts) == 1, texts
    world.mm.default = Reply()  # fixed: Lambda's retries now go through
    play(runtime, pushed)
    play(runtime, again)
    assert world.posted()["payments"] == 2  # nothing posted there twice
    mattermost_texts = [text_of(payload) for payload in world.mm.delivered]
    assert len(mattermost_texts) == 2 and sum("ready for review" in text for text in mattermost_texts) == 1
