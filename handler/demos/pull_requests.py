"""The pull-request part of ``make demo``: one pull request's life, through the Lambda's pipeline.

No AWS account is needed: :class:`ScriptedPullRequestReader` answers GetPullRequest, GetComment
and the approval reads from a small scripted dataset, and each step is the EventBridge event
CodeCommit would send, run through :func:`handler.app.process_event` and delivered to a capture
webhook on 127.0.0.1. The steps: a draft opened (quiet), marked ready (reviewers mentioned), a
``/review-done`` comment (the author mentioned), an inline question, an approval ("1 of 2"), and
the merge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from handler.enrich.pull_request_reader import Unreadable
from handler.pull_requests.model import (
    ApprovalRule,
    ApprovalState,
    CommentDetails,
    PullRequestDetails,
    PullRequestSnapshot,
)

ACCOUNT = "123456789012"
REGION = "eu-west-1"
REPOSITORY = "payments-service"
ANA = f"arn:aws:sts::{ACCOUNT}:assumed-role/DeveloperRole/ana.nunez@example.com"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
CHEN = f"arn:aws:sts::{ACCOUNT}:assumed-role/CodeCommitReview/chen"
DANA = f"arn:aws:iam::{ACCOUNT}:user/dana"
REVIEWERS = f"arn:aws:sts::{ACCOUNT}:assumed-role/CodeCommitReview/*"
#: The demo's USER_MAP, keyed by full ARN as IDENTITY_MATCH=arn (the default) needs: a session
#: name (Ana's e-mail) is chosen by whoever assumes the role, so it never identifies anyone alone.
#: Ana posts to both products (a Slack id and a Mattermost username); Bob and Chen use Slack only.
DEMO_USER_MAP: dict[str, object] = {
    ANA: {"slack": "U0ANA0001", "mattermost": "ana.nunez"},
    BOB: "U0BOB0001",
    CHEN: "U0CHEN001",
}
SOURCE_1 = "5f3e2a9c4b1d6e7f8091a2b3c4d5e6f708192a3b"
SOURCE_2 = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
DESTINATION = "0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"
REVISION = "3b8cecab3a5c0f1e9d2b4a6c8e0f2a4c6e8a0c2e4f6a8c0e2a4c6e8f0a2c4e6f"


@dataclass
class ScriptedPullRequestReader:
    """Answers the pull-request reads from scripted data; tests and the demo change it between steps."""

    details: dict[str, PullRequestDetails] = field(default_factory=dict)
    comments: dict[str, CommentDetails] = field(default_factory=dict)
    approvals: dict[str, ApprovalState] = field(default_factory=dict)

    def get_pull_request(self, pull_request_id: str) -> PullRequestDetails:
        if pull_request_id not in self.details:
            raise Unreadable(f"pull request {pull_request_id}", "it does not exist or was removed")
        return self.details[pull_request_id]

    def get_comment(self, comment_id: str, **_: Any) -> CommentDetails:
        if comment_id not in self.comments:
            raise Unreadable(f"comment {comment_id}", "it does not exist or was removed")
        return self.comments[comment_id]

    def get_approval_state(self, pull_request_id: str, revision_id: str) -> ApprovalState:
        return self.approvals.get(pull_request_id, ApprovalState(()))


def eventbridge_event(detail_type: str, detail: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The EventBridge event CodeCommit sends, as the rule delivers it to the function."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "aws.codecommit",
        "account": ACCOUNT,
        "time": "2026-11-20T10:15:00Z",
        "region": REGION,
        "resources": [f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{REPOSITORY}"],
        "detail": detail,
    }


def state_event(snapshot: PullRequestSnapshot, event: str, caller: str, **extra: str) -> dict[str, Any]:
    """The ``CodeCommit Pull Request State Change`` event CodeCommit sends for ``snapshot``."""
    detail = {
        "author": snapshot.author_arn,
        "callerUserArn": caller,
        "description": snapshot.description,
        "destinationCommit": snapshot.destination_commit,
        "destinationReference": snapshot.destination_reference,
        "event": event,
        "isMerged": "True" if snapshot.is_merged else "False",
        "pullRequestId": snapshot.pull_request_id,
        "pullRequestStatus": "Closed" if snapshot.is_merged else "Open",
        "repositoryNames": [REPOSITORY],
        "revisionId": snapshot.revision_id,
        "sourceCommit": snapshot.source_commit,
        "sourceReference": snapshot.source_reference,
        "title": snapshot.title,
        **extra,
    }
    return eventbridge_event("CodeCommit Pull Request State Change", detail, f"demo-{event}")


def _comment(comment_id: str, caller: str) -> dict[str, Any]:
    """The ``CodeCommit Comment on Pull Request`` event for a new comment on the demo's #42."""
    detail = {
        "afterCommitId": SOURCE_2,
        "beforeCommitId": DESTINATION,
        "callerUserArn": caller,
        "commentId": comment_id,
        "event": "commentOnPullRequestCreated",
        "pullRequestId": "42",
        "repositoryName": REPOSITORY,
    }
    return eventbridge_event("CodeCommit Comment on Pull Request", detail, f"demo-{comment_id}")


def demo_steps(reader: ScriptedPullRequestReader) -> list[tuple[str, Any, dict[str, Any]]]:
    """(title, change to the dataset before the event, event) for each step of the demo."""
    rules = (ApprovalRule("two-reviewers", 2, (REVIEWERS, f"arn:aws:iam::{ACCOUNT}:user/bob", DANA)),)
    draft = PullRequestSnapshot(
        pull_request_id="42",
        title="Draft: Passkey login for the payments console",
        description=(
            "Adds WebAuthn passkeys next to passwords.\n\n* registration and login flows\n"
            "* falls back to passwords on old browsers\n\nCloses PAY-1234."
        ),
        author_arn=ANA,
        source_reference="refs/heads/feature/passkeys",
        destination_reference="refs/heads/main",
        source_commit=SOURCE_1,
        destination_commit=DESTINATION,
        status="OPEN",
        revision_id=REVISION,
    )
    ready = replace(draft, title="Passkey login for the payments console", source_commit=SOURCE_2)
    merged = replace(ready, status="CLOSED", is_merged=True, merge_option="SQUASH_MERGE", merged_by=BOB)

    def show(snapshot: PullRequestSnapshot) -> Any:
        return lambda: reader.details.update({"42": PullRequestDetails(snapshot, rules)})

    def comment(comment_id: str, text: str, author: str, **where: Any) -> Any:
        return lambda: reader.comments.update({comment_id: CommentDetails(comment_id, text, author, **where)})

    def approve() -> None:
        reader.approvals["42"] = ApprovalState((BOB,), approved=False)

    return [
        (
            "a draft pull request is opened: nothing is posted",
            show(draft),
            state_event(draft, "pullRequestCreated", ANA),
        ),
        (
            "the title loses its Draft: marker and new commits arrive: ready for review, reviewers mentioned",
            show(ready),
            state_event(ready, "pullRequestSourceBranchUpdated", ANA),
        ),
        (
            "Chen asks a question on a line",
            comment(
                "c-1",
                "Should the challenge expire after 5 minutes?",
                CHEN,
                file_path="src/auth/passkeys.py",
                file_position=88,
            ),
            _comment("c-1", CHEN),
        ),
        (
            "Bob comments /review-done: the author is mentioned",
            comment("c-2", "/review-done Looks good to me. One nit about the timeout, see above.", BOB),
            _comment("c-2", BOB),
        ),
        (
            "Bob approves: 1 of 2 approvals",
            approve,
            state_event(ready, "pullRequestApprovalStateChanged", BOB, approvalStatus="APPROVE"),
        ),
        (
            "Bob merges it",
            show(merged),
            state_event(merged, "pullRequestMergeStatusUpdated", BOB, mergeOption="SQUASH_MERGE"),
        ),
    ]


def run_pull_request_demo(out: TextIO, *, json_only: bool = False) -> int:
    """Play the steps through ``process_event`` and print what each posts; return how many posted."""
    from handler.app import process_event
    from handler.deadline import Deadline
    from handler.deliver.webhook_url import DestinationSecrets
    from handler.preview import block_kit_builder_url, capture_webhook, describe
    from handler.pull_requests.people import UserMap
    from handler.pull_requests.settings import PullRequestSettings
    from handler.runtime import PullRequestRuntime, Runtime
    from handler.settings import Settings

    reader = ScriptedPullRequestReader()
    settings = PullRequestSettings(user_map=UserMap.parse(json.dumps(DEMO_USER_MAP)))
    posted = 0
    if not json_only:
        print(
            "\n\nA pull request's life (EventBridge events through the same pipeline; USER_MAP maps "
            "Ana, Bob and Chen; Dana is unmapped):",
            file=out,
        )
    with capture_webhook() as (url, received):
        runtime = Runtime(
            settings=Settings(),
            reader_for=lambda repository: _no_commits(),
            secrets=DestinationSecrets(url=url, secret_arn=None, secrets_client=_no_secrets),
            pull_requests=PullRequestRuntime(
                load_settings=lambda: settings, reader_for=lambda repository: reader
            ),
        )
        for index, (title, change, event) in enumerate(demo_steps(reader), start=1):
            change()
            process_event(event, runtime, Deadline(None))
            if not json_only:
                print(f"\n══ pull request {index}: {title} " + "═" * max(0, 50 - len(title)), file=out)
            for payload in received:
                posted += 1
                if json_only:
                    print(json.dumps(payload, ensure_ascii=False), file=out)
                    continue
                print(describe(payload, color=out.isatty()), file=out)
                link = block_kit_builder_url(payload)
                if link:
                    print(f"\nOpen in Block Kit Builder: {link}", file=out)
            received.clear()
    return posted


def _no_commits() -> Any:
    raise AssertionError("the pull-request demo reads no commits")


def _no_secrets(region: str | None) -> Any:
    raise AssertionError("the demo never reads Secrets Manager")
