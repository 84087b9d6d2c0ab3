"""Scripted pull-request scenarios: the people, the pull requests the stand-in serves, and the events.

Shared by the golden tests (tests/test_pull_request_golden.py) and the fuzz tests. Each scenario
is a list of EventBridge events played in order through the whole pipeline, with the settings it
needs; its golden file holds every payload posted, in order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.standins.pull_requests import PullRequestBook, StoredComment, StoredPullRequest, rule_content

ACCOUNT = "123456789012"
REPOSITORY = "payments-service"
REGION = "eu-west-1"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"  # the author; mapped by user name
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"  # a reviewer; mapped by full ARN
CAROL = f"arn:aws:sts::{ACCOUNT}:assumed-role/CodeCommitReview/carol@example.com"  # via the wildcard pool
DAVE = f"arn:aws:iam::{ACCOUNT}:user/dave"  # a reviewer nobody mapped: shown, never pinged
ERIN = f"arn:aws:sts::{ACCOUNT}:assumed-role/Developer/erin"  # not a reviewer; mapped by e-mail
REVIEW_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/CodeCommitReview/*"
FRANK = f"CodeCommitApprovers:{ACCOUNT}:frank"  # CodeCommit's short pool form
USER_MAP = {
    "alice": "U0ALICE01",
    BOB: "U0BOB0001",
    CAROL: "U0CAROL01",
    "erin@example.com": "W0ERIN001",
    "frank": "U0FRANK01",
}
SOURCE_1 = "1" * 40
SOURCE_2 = "2" * 40
DESTINATION = "d" * 40


def state_event(
    event: str,
    pull_request: StoredPullRequest,
    *,
    caller: str,
    event_id: str,
    **extra: Any,
) -> dict[str, Any]:
    """A ``CodeCommit Pull Request State Change`` event, shaped like AWS's samples."""
    detail: dict[str, Any] = {
        "author": pull_request.author_arn,
        "callerUserArn": caller,
        "creationDate": "Fri Nov 20 09:00:00 UTC 2026",
        "description": pull_request.description or "",
        "destinationCommit": pull_request.destination_commit,
        "destinationReference": pull_request.destination_reference,
        "event": event,
        "isMerged": "False",
        "lastModifiedDate": "Fri Nov 20 09:30:00 UTC 2026",
        "notificationBody": "A pull request event occurred in the following AWS CodeCommit repository ...",
        "pullRequestId": pull_request.pull_request_id,
        "pullRequestStatus": "Open",
        "repositoryNames": [pull_request.repository],
        "revisionId": pull_request.revision_id,
        "sourceCommit": pull_request.source_commit,
        "sourceReference": pull_request.source_reference,
        "title": pull_request.title,
        **extra,
    }
    return _envelope("CodeCommit Pull Request State Change", detail, event_id)


def comment_event(
    comment: StoredComment, *, event_id: str, caller: str | None = None, edited: bool = False, **extra: Any
) -> dict[str, Any]:
    """A ``CodeCommit Comment on Pull Request`` (or on Commit, without a pull request) event."""
    on_commit = comment.pull_request_id is None
    name = "commentOnCommit" if on_commit else "commentOnPullRequest"
    detail: dict[str, Any] = {
        "afterCommitId": comment.after_commit_id,
        "beforeCommitId": comment.before_commit_id,
        "callerUserArn": caller or comment.author_arn,
        "commentId": comment.comment_id,
        "event": name + ("Updated" if edited else "Created"),
        "notificationBody": "A comment event occurred ...",
        "repositoryId": "12345678-1234-1234-1234-123456789012",
        "repositoryName": REPOSITORY,
        **extra,
    }
    if comment.in_reply_to:
        detail["inReplyTo"] = comment.in_reply_to
    if not on_commit:
        detail["pullRequestId"] = comment.pull_request_id
    kind = "CodeCommit Comment on Commit" if on_commit else "CodeCommit Comment on Pull Request"
    return _envelope(kind, detail, event_id)


def _envelope(detail_type: str, detail: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "aws.codecommit",
        "account": ACCOUNT,
        "time": "2026-11-20T09:30:00Z",
        "region": REGION,
        "resources": [f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{REPOSITORY}"],
        "detail": detail,
    }


def in_sns(event: dict[str, Any]) -> dict[str, Any]:
    """The event as an SNS topic would deliver it."""
    return {
        "Records": [
            {"EventSource": "aws:sns", "Sns": {"MessageId": event["id"], "Message": json.dumps(event)}}
        ]
    }


@dataclass
class Scenario:
    """Events played in order, with the environment the function would have."""

    events: list[dict[str, Any]]
    environ: dict[str, str] = field(default_factory=dict)
    #: a change to the stand-in's data made before the event at that index is played
    changes: dict[int, Callable[[], None]] = field(default_factory=dict)


def update(stored: StoredPullRequest, **values: Any) -> Callable[[], None]:
    """A change to a stored pull request, made when the scenario reaches a given event."""

    def apply() -> None:
        for name, value in values.items():
            setattr(stored, name, value)

    return apply


def pull_request(pull_request_id: str, title: str, **overrides: Any) -> StoredPullRequest:
    """A pull request in the demo repository with the usual two rules (unless overridden)."""
    values: dict[str, Any] = {
        "source_reference": "refs/heads/feature/passkeys",
        "source_commit": SOURCE_1,
        "destination_commit": DESTINATION,
        "description": "Adds passkey login.\n\n* WebAuthn registration\n* fallback to passwords",
        "rules": [
            ("two-reviewers", rule_content(2, [BOB, REVIEW_ROLE, DAVE, ALICE])),
            ("team-lead", rule_content(1, [FRANK])),
        ],
    }
    values.update(overrides)
    return StoredPullRequest(pull_request_id, REPOSITORY, title, ALICE, **values)


def build_scenarios(book: PullRequestBook) -> dict[str, Scenario]:
    """Put every scenario's pull requests and comments in ``book``; return the scenarios by name."""
    scenarios: dict[str, Scenario] = {}
    # name matching on: these scenarios show every kind of key (names, e-mails, the short pool
    # form), which IDENTITY_MATCH=arn ignores (tests/test_identity.py covers that mode)
    env = {"USER_MAP": json.dumps(USER_MAP), "IDENTITY_MATCH": "name"}
    main = book.add_pull_request(pull_request("12", "Passkey login"))

    def state(name: str, event: str, pr: StoredPullRequest, caller: str, **extra: Any) -> None:
        scenarios[name] = Scenario(
            [state_event(event, pr, caller=caller, event_id=f"ev-{name}", **extra)], env
        )

    state("opened", "pullRequestCreated", main, ALICE)
    scenarios["opened_in_sns"] = Scenario([in_sns(scenarios["opened"].events[0])], env)
    lone = book.add_pull_request(pull_request("13", "Docs", rules=[("one", rule_content(1, [DAVE]))]))
    state("opened_unmapped_reviewer", "pullRequestCreated", lone, ALICE)
    state(
        "opened_no_rules",
        "pullRequestCreated",
        book.add_pull_request(pull_request("14", "Typo", rules=[])),
        ALICE,
    )
    state("opened_unreadable", "pullRequestCreated", pull_request("404", "Gone before we looked"), ALICE)

    moving = book.add_pull_request(pull_request("15", "Retry budget"))
    scenarios["updated_with_compare"] = Scenario(
        [
            state_event("pullRequestCreated", moving, caller=ALICE, event_id="ev-15-open"),
            state_event(
                "pullRequestSourceBranchUpdated",
                pull_request("15", "Retry budget", source_commit=SOURCE_2),
                caller=ALICE,
                event_id="ev-15-push",
            ),
        ],
        env,
        changes={1: update(moving, source_commit=SOURCE_2)},
    )
    state("updated_first_seen", "pullRequestSourceBranchUpdated", main, ALICE)

    approved = book.add_pull_request(pull_request("16", "Rate limits"))
    book.approve("16", BOB)
    state("approved", "pullRequestApprovalStateChanged", approved, BOB, approvalStatus="APPROVE")
    state("approval_revoked", "pullRequestApprovalStateChanged", approved, CAROL, approvalStatus="REVOKE")
    state("overridden", "pullRequestApprovalRuleOverridden", approved, ERIN, overrideStatus="OVERRIDE")
    state("override_revoked", "pullRequestApprovalRuleOverridden", approved, ERIN, overrideStatus="REVOKE")
    state("rule_changed", "pullRequestApprovalRuleCreated", approved, ALICE, approvalRuleName="security")

    merged = book.add_pull_request(
        pull_request(
            "17",
            "Metrics",
            status="CLOSED",
            merged_by=BOB,
            merge_option="SQUASH_MERGE",
            merge_commit_id="e" * 40,
        )
    )
    state(
        "merged",
        "pullRequestMergeStatusUpdated",
        merged,
        BOB,
        isMerged="True",
        mergeOption="SQUASH_MERGE",
        pullRequestStatus="Closed",
    )
    self_merged = book.add_pull_request(
        pull_request("18", "Logging", status="CLOSED", merged_by=ALICE, merge_option="FAST_FORWARD_MERGE")
    )
    state(
        "merged_by_author",
        "pullRequestMergeStatusUpdated",
        self_merged,
        ALICE,
        isMerged="True",
        mergeOption="FAST_FORWARD_MERGE",
        pullRequestStatus="Closed",
    )
    closed = book.add_pull_request(pull_request("19", "Abandoned idea", status="CLOSED"))
    state("closed", "pullRequestStatusChanged", closed, ALICE, pullRequestStatus="Closed")
    state("reopened", "pullRequestStatusChanged", main, ALICE, pullRequestStatus="Open")

    def comment(
        name: str, stored: StoredComment, *, environ: dict[str, str] | None = None, **extra: Any
    ) -> None:
        book.add_comment(stored)
        scenarios[name] = Scenario([comment_event(stored, event_id=f"ev-{name}", **extra)], environ or env)

    comment(
        "comment_inline",
        StoredComment(
            "c-inline",
            "Should this be `async`?",
            BOB,
            "12",
            file_path="src/login/passkeys.py",
            file_position=42,
        ),
    )
    comment(
        "comment_reply", StoredComment("c-reply", "Good point, fixed.", ALICE, "12", in_reply_to="c-inline")
    )
    scenarios["comment_unreadable"] = Scenario(
        [comment_event(StoredComment("c-missing", "", BOB, "12"), event_id="ev-c-missing")], env
    )
    comment(
        "comment_edited_is_quiet_by_default", StoredComment("c-edit", "typo fixed", BOB, "12"), edited=True
    )
    comment(
        "commit_comment",
        StoredComment(
            "c-commit",
            "Nice cleanup!",
            ERIN,
            None,
            after_commit_id="c" * 40,
            file_path="README.md",
            file_position=3,
        ),
        emailAddress="erin@example.com",
    )

    commands = {
        "review_done": ("/review-done Looks good, two nits inline.", BOB),
        "review_done_korean": ("/리뷰완료 좋습니다", BOB),
        "re_review": ("/re-review Addressed all comments", ALICE),
        "re_review_korean": ("/리뷰다시", ALICE),
        "ping_reviewers": ("/ping-reviewers Is the retry budget per user or per device?", ALICE),
        "ping_reviewers_korean": ("/리뷰어호출 질문 있습니다", ALICE),
        "review_done_by_author": ("/review-done", ALICE),
        "review_done_from_outsider": ("/REVIEW-DONE drive-by approval", ERIN),
        "re_review_from_outsider": ("/re-review please", ERIN),
        "command_not_first_word": ("thanks! /review-done", BOB),
    }
    for name, (text, who) in commands.items():
        tags: dict[str, Any] = {"emailAddress": "erin@example.com"} if who == ERIN else {}
        comment(name, StoredComment(f"c-{name}", text, who, "12"), **tags)
    comment("command_on_unreadable_pull_request", StoredComment("c-404", "/re-review", ALICE, "404"))
    renamed = {**env, "REVIEW_COMMANDS": json.dumps({"/lgtm": "review-done", "/review-done": None})}
    comment("renamed_command", StoredComment("c-lgtm", "/lgtm ship it", BOB, "12"), environ=renamed)
    comment(
        "retired_command_is_a_comment", StoredComment("c-retired", "/review-done", BOB, "12"), environ=renamed
    )
    quiet = {**env, "PULL_REQUEST_EVENTS": "default,-comment"}
    comment(
        "comments_off_commands_still_post",
        StoredComment("c-quiet-cmd", "/re-review", ALICE, "12"),
        environ=quiet,
    )
    comment(
        "comments_off_plain_comment_quiet", StoredComment("c-quiet", "just a note", BOB, "12"), environ=quiet
    )

    draft = book.add_pull_request(pull_request("20", "Draft: new checkout flow"))
    book.add_comment(StoredComment("c-draft", "early feedback", BOB, "20"))
    scenarios["draft_then_ready"] = Scenario(
        [
            state_event("pullRequestCreated", draft, caller=ALICE, event_id="ev-20-open"),
            comment_event(StoredComment("c-draft", "", BOB, "20"), event_id="ev-20-comment"),
            state_event(
                "pullRequestSourceBranchUpdated",
                pull_request("20", "New checkout flow", source_commit=SOURCE_2),
                caller=ALICE,
                event_id="ev-20-push",
            ),
            state_event(
                "pullRequestSourceBranchUpdated",
                pull_request("20", "New checkout flow", source_commit=SOURCE_2),
                caller=ALICE,
                event_id="ev-20-push-again",
            ),
        ],
        env,
        changes={
            2: update(draft, title="New checkout flow", source_commit=SOURCE_2),
        },
    )
    wip = book.add_pull_request(pull_request("21", "[Draft] spike"))
    wip_merged = pull_request(
        "21", "[Draft] spike", status="CLOSED", merged_by=ALICE, merge_option="THREE_WAY_MERGE"
    )
    scenarios["draft_merged"] = Scenario(
        [
            state_event("pullRequestCreated", wip, caller=ALICE, event_id="ev-21-open"),
            state_event(
                "pullRequestMergeStatusUpdated",
                wip_merged,
                caller=BOB,
                event_id="ev-21-merge",
                isMerged="True",
                mergeOption="THREE_WAY_MERGE",
                pullRequestStatus="Closed",
            ),
        ],
        env,
        changes={
            1: update(wip, merged_by=BOB, merge_option="THREE_WAY_MERGE"),
        },
    )
    book.add_pull_request(pull_request("22", "wip: Lowercase marker"))
    state("draft_lowercase_wip_quiet", "pullRequestCreated", book.pull_requests["22"], ALICE)

    hostile_title = "<!channel> *urgent* <https://evil.example|click> <@U0ALICE01> &amp; @here"
    hostile = book.add_pull_request(
        pull_request(
            "30",
            hostile_title,
            description="<!here> please <@W0ERIN001>\n> quoted `code` ~strike~ _it_\n\x1b[31mred\x00",
            source_reference="refs/heads/<!everyone>",
        )
    )
    state("hostile_title_and_description", "pullRequestCreated", hostile, ALICE)
    comment(
        "hostile_comment",
        StoredComment(
            "c-hostile",
            "<!channel> <@U0BOB0001> <https://evil|x> @everyone",
            ERIN,
            "30",
            file_path="<!here>.py",
            file_position=1,
        ),
        emailAddress="erin@example.com",
    )
    comment(
        "hostile_command_rest",
        StoredComment("c-hostile-cmd", "/ping-reviewers <!subteam^S1> <@U0CAROL01>", ALICE, "30"),
    )
    long_text = "Ünïcödé 👩‍👩‍👧 " * 800
    long_pr = book.add_pull_request(pull_request("31", long_text[:400], description=long_text))
    state("long_title_and_description", "pullRequestCreated", long_pr, ALICE)
    return scenarios
