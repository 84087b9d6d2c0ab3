"""handler/actions/pipelines.py: deploy, status, rollback and the approval buttons, as the person,
against the CodePipeline/CodeCommit stand-in and a loopback GitHub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import botocore.session
import pytest

from handler.actions.context import Actor, Reply
from handler.actions.pipelines import GateReply, GitHubDispatch, PipelineActions, glob_permit
from handler.render.mrkdwn import escape
from handler.render.pipeline import GateTarget
from handler.settings import GitHubDispatchTarget
from tests.standins import LoopbackServer
from tests.standins.codepipeline import CodePipelineStandIn, ServiceError, StoredPipeline, codecommit_pipeline

ALICE = Actor("arn:aws:iam::123456789012:user/alice", "U0ALICE", "alice")
BOB = Actor("bob@example.com", "U0BOB", "bob@example.com")
MAIN_TIP = "a" * 40
OLD = "b" * 40
PERMISSIONS = {"deploy": ["*alice", "bob*"], "rollback": ["*alice"], "approve_deploy": ["*"]}


@dataclass
class Context:
    """An ActionContext whose clients sign with the person's (test) access key."""

    actor: Actor
    url: str

    def client(self, service: str, region: str) -> Any:
        return botocore.session.get_session().create_client(
            service,
            region,
            endpoint_url=self.url,
            aws_access_key_id=f"AKID-{self.actor.session_name}",
            aws_secret_access_key="x",
        )


@pytest.fixture
def aws() -> Iterator[CodePipelineStandIn]:
    stand_in = CodePipelineStandIn().start()
    stand_in.add_commit("app", MAIN_TIP, "Fix the login redirect", branch="main")
    stand_in.add_commit("app", OLD, "Older change")
    yield stand_in
    stand_in.stop()


def actions(**changes: Any) -> PipelineActions:
    values: dict[str, Any] = {
        "pipelines": frozenset({"web-deploy", "legacy", "github-src", "gone"}),
        "region": "eu-west-1",
        "permit": glob_permit(PERMISSIONS),
        "github_targets": {},
    }
    return PipelineActions(**(values | changes))


def execution(execution_id: str, status: str, commit: str = MAIN_TIP, who: str = "alice") -> dict[str, Any]:
    return {
        "pipelineExecutionId": execution_id,
        "status": status,
        "sourceRevisions": [
            {"actionName": "Source", "revisionId": commit, "revisionSummary": "Fix the login redirect"}
        ],
        "trigger": {
            "triggerType": "StartPipelineExecution",
            "triggerDetail": f"arn:aws:sts::123456789012:assumed-role/actor/{who}",
        },
    }


def web_deploy(aws: CodePipelineStandIn, **fields: Any) -> StoredPipeline:
    return aws.add_pipeline(StoredPipeline(codecommit_pipeline("web-deploy"), **fields))


def test_deploy_starts_the_pipeline_as_the_person(aws: CodePipelineStandIn) -> None:
    web_deploy(aws)
    reply = actions().deploy(Context(ALICE, aws.url), ["web-deploy"])
    assert reply.ok and reply.public
    assert reply.text.startswith(
        "arn:aws:iam::123456789012:user/alice started web-deploy at its source's latest change"
    )
    start = [call for call in aws.calls if call.operation == "StartPipelineExecution"]
    assert [(call.body["name"], call.access_key) for call in start] == [("web-deploy", "AKID-alice")]
    assert "sourceRevisions" not in start[0].body


@pytest.mark.parametrize(("ref", "reads"), [("main", "GetBranch"), (OLD, "GetCommit")])
def test_deploy_a_branch_or_commit_pins_it_with_a_source_revision_override(
    aws: CodePipelineStandIn, ref: str, reads: str
) -> None:
    web_deploy(aws)
    reply = actions().deploy(Context(ALICE, aws.url), ["web-deploy", ref])
    assert reply.ok, reply.text
    [start] = [call for call in aws.calls if call.operation == "StartPipelineExecution"]
    commit = MAIN_TIP if ref == "main" else OLD
    assert start.body["sourceRevisions"] == [
        {"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": commit}
    ]
    assert reads in aws.operations("codecommit") and f"at {commit[:7]} ({ref})" in reply.text


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("no-such-branch", "app has no branch 'no-such-branch'. Tags can't be read through CodeCommit's API"),
        ("abc1234", "It looks like a short commit id: give all 40 characters"),
        ("c" * 40, f"app has no commit {'c' * 40}"),
    ],
)
def test_a_ref_that_does_not_exist_starts_nothing(aws: CodePipelineStandIn, ref: str, says: str) -> None:
    web_deploy(aws)
    reply = actions().deploy(Context(ALICE, aws.url), ["web-deploy", ref])
    assert not reply.ok and not reply.public and says in reply.text
    assert "StartPipelineExecution" not in aws.operations()


def test_a_v1_pipeline_is_told_it_runs_its_latest_change_only(aws: CodePipelineStandIn) -> None:
    aws.add_pipeline(StoredPipeline(codecommit_pipeline("legacy", pipeline_type="V1")))
    refused = actions().deploy(Context(ALICE, aws.url), ["legacy", "main"])
    assert (
        not refused.ok and "legacy is a V1 pipeline: it runs its source's latest change only" in refused.text
    )
    assert "StartPipelineExecution" not in aws.operations()
    assert actions().deploy(Context(ALICE, aws.url), ["legacy"]).ok


def test_another_source_kind_is_told_what_deploy_supports(aws: CodePipelineStandIn) -> None:
    aws.add_pipeline(StoredPipeline(codecommit_pipeline("github-src", provider="CodeStarSourceConnection")))
    refused = actions().deploy(Context(ALICE, aws.url), ["github-src", "main"])
    assert (
        "github-src's source is CodeStarSourceConnection: deploy pins a branch or commit only" in refused.text
    )
    assert "StartPipelineExecution" not in aws.operations()


def test_a_pipeline_the_stack_does_not_know_is_refused_before_any_call(aws: CodePipelineStandIn) -> None:
    reply = actions().deploy(Context(ALICE, aws.url), ["prod-db"])
    assert not reply.ok and "I don't know a pipeline called 'prod-db'" in reply.text
    assert "Those are: github-src, gone, legacy, web-deploy" in reply.text
    assert aws.calls == []


def test_a_pipeline_codepipeline_does_not_have_is_said_so(aws: CodePipelineStandIn) -> None:
    reply = actions().deploy(Context(ALICE, aws.url), ["gone"])
    assert not reply.ok and "CodePipeline has no pipeline called 'gone' in eu-west-1" in reply.text


def test_a_person_not_allowed_to_deploy_is_refused_before_any_call(aws: CodePipelineStandIn) -> None:
    carol = Actor("carol", "U0CAROL", "carol")
    reply = actions().deploy(Context(carol, aws.url), ["web-deploy"])
    assert not reply.ok and 'ask whoever runs the notifier to add carol under "deploy"' in reply.text
    assert aws.calls == []


def test_status_shows_the_latest_runs_who_and_which_commit_and_each_stage(aws: CodePipelineStandIn) -> None:
    web_deploy(
        aws,
        executions=[execution("e2222222-x", "InProgress", who="bob"), execution("e1111111-x", "Succeeded")],
        stage_states=[
            {
                "stageName": "Source",
                "latestExecution": {"pipelineExecutionId": "e2222222-x", "status": "Succeeded"},
            },
            {
                "stageName": "Build",
                "latestExecution": {"pipelineExecutionId": "e2222222-x", "status": "InProgress"},
            },
        ],
    )
    reply = actions().status(Context(BOB, aws.url), ["web-deploy"])
    assert reply.ok and not reply.public
    assert reply.text.splitlines() == [
        "*web-deploy*, latest runs:",
        "• InProgress · e2222222 · aaaaaaa Fix the login redirect · by bob",
        "• Succeeded · e1111111 · aaaaaaa Fix the login redirect · by alice",
        "Stages:",
        "• Source: Succeeded (e2222222)",
        "• Build: InProgress (e2222222)",
    ]


def test_rollback_goes_to_the_stages_last_success_and_says_which(aws: CodePipelineStandIn) -> None:
    web_deploy(
        aws,
        executions=[
            execution("e3", "Succeeded"),
            execution("e2", "Failed"),
            execution("e1", "Succeeded", OLD),
        ],
        stage_states=[
            {"stageName": "Deploy", "latestExecution": {"pipelineExecutionId": "e3", "status": "Succeeded"}}
        ],
    )
    reply = actions().rollback(Context(ALICE, aws.url), ["web-deploy", "Deploy"])
    assert reply.ok and reply.public, reply.text
    [rollback] = [call for call in aws.calls if call.operation == "RollbackStage"]
    assert rollback.body == {
        "pipelineName": "web-deploy",
        "stageName": "Deploy",
        "targetPipelineExecutionId": "e1",
    }
    assert rollback.access_key == "AKID-alice"
    assert (
        "rolled Deploy of web-deploy back to the last successful run: Succeeded · e1 · bbbbbbb" in reply.text
    )


def test_rollback_with_no_earlier_success_starts_nothing(aws: CodePipelineStandIn) -> None:
    web_deploy(
        aws,
        executions=[execution("e2", "Succeeded"), execution("e1", "Failed")],
        stage_states=[
            {"stageName": "Deploy", "latestExecution": {"pipelineExecutionId": "e2", "status": "Succeeded"}}
        ],
    )
    reply = actions().rollback(Context(ALICE, aws.url), ["web-deploy", "Deploy"])
    assert not reply.ok and "has no earlier successful run to roll Deploy back to" in reply.text
    assert "RollbackStage" not in aws.operations()


def test_rollback_of_an_unknown_stage_names_the_stages(aws: CodePipelineStandIn) -> None:
    web_deploy(aws)
    reply = actions().rollback(Context(ALICE, aws.url), ["web-deploy", "Prod"])
    assert (
        reply.text
        == "web-deploy has no stage 'Prod'; its stages are Source, Build, Deploy. Nothing was rolled back."
    )
    assert "RollbackStage" not in aws.operations()


def test_rollback_needs_the_rollback_permission(aws: CodePipelineStandIn) -> None:
    reply = actions().rollback(Context(BOB, aws.url), ["web-deploy", "Deploy"])
    assert not reply.ok and 'under "rollback"' in reply.text and aws.calls == []


def gate(aws: CodePipelineStandIn, execution_id: str = "e9", started_by: str = "carol") -> str:
    web_deploy(
        aws,
        executions=[execution(execution_id, "InProgress", who=started_by)],
        stage_states=[
            {
                "stageName": "Deploy",
                "latestExecution": {"pipelineExecutionId": execution_id, "status": "InProgress"},
                "actionStates": [
                    {"actionName": "Approve", "latestExecution": {"status": "InProgress", "token": "tok-123"}}
                ],
            }
        ],
    )
    return GateTarget("web-deploy", "Deploy", "Approve", execution_id).value()


def test_approve_answers_the_gate_as_the_person_with_the_current_token(aws: CodePipelineStandIn) -> None:
    value = gate(aws)
    reply = actions().approve(Context(ALICE, aws.url), value)
    assert isinstance(reply, GateReply) and reply.ok and reply.gate_closed
    assert reply.decided == "✓ Approved by arn:aws:iam::123456789012:user/alice"
    [put] = [call for call in aws.calls if call.operation == "PutApprovalResult"]
    assert put.body["token"] == "tok-123" and put.body["result"]["status"] == "Approved"
    assert put.access_key == "AKID-alice"
    again = actions().reject(Context(BOB, aws.url), value)
    assert not again.ok and again.gate_closed and "no longer waits" in again.text


def test_reject(aws: CodePipelineStandIn) -> None:
    reply = actions().reject(Context(BOB, aws.url), gate(aws))
    assert reply.ok and reply.decided == "✗ Rejected by bob@example.com"


def test_a_gate_for_an_earlier_run_is_not_answered(aws: CodePipelineStandIn) -> None:
    gate(aws, execution_id="e9")
    stale = GateTarget("web-deploy", "Deploy", "Approve", "e8").value()
    reply = actions().approve(Context(ALICE, aws.url), stale)
    assert not reply.ok and "earlier run" in reply.text and "PutApprovalResult" not in aws.operations()


def test_nobody_approves_the_run_they_started(aws: CodePipelineStandIn) -> None:
    reply = actions().approve(Context(ALICE, aws.url), gate(aws, started_by="alice"))
    assert not reply.ok and "You started this run" in reply.text
    assert "PutApprovalResult" not in aws.operations()


def test_approving_needs_approve_deploy(aws: CodePipelineStandIn) -> None:
    permit = glob_permit({"deploy": ["*"]})
    reply = actions(permit=permit).approve(Context(ALICE, aws.url), gate(aws))
    assert not reply.ok and 'under "approve_deploy"' in reply.text and aws.calls == []


@pytest.mark.parametrize(
    "value", ["", "{}", '{"p":"web-deploy"}', json.dumps({"p": "x y", "s": "a", "a": "b", "e": "c"})]
)
def test_a_button_value_that_is_not_ours_does_nothing(aws: CodePipelineStandIn, value: str) -> None:
    reply = actions().approve(Context(ALICE, aws.url), value)
    assert not reply.ok and "not one the notifier made" in reply.text and aws.calls == []


# -- github-dispatch ---------------------------------------------------------------------------


@dataclass
class GitHubStandIn(LoopbackServer):
    """POST /repos/{owner}/{repo}/dispatches answered with ``status`` (and GitHub's error body)."""

    status: int = 204
    received: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def start(self) -> GitHubStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.received.append((self.path, dict(self.headers), body))
                messages = {401: "Bad credentials", 404: "Not Found", 422: "Invalid request."}
                data = (
                    b""
                    if stand_in.status == 204
                    else json.dumps({"message": messages.get(stand_in.status, "?")}).encode()
                )
                self.send_response(stand_in.status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.serve(Handler)
        return self


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    stand_in = GitHubStandIn().start()
    yield stand_in
    stand_in.stop()


def github_actions(url: str) -> PipelineActions:
    return actions(
        github_targets={"site": GitHubDispatchTarget("acme/site", "deploy-site")},
        github=GitHubDispatch(url, token=lambda: "ghp_test"),
    )


def test_deploy_a_github_target_sends_repository_dispatch(github: GitHubStandIn) -> None:
    reply = github_actions(f"http://127.0.0.1:{github.port}").deploy(
        Context(ALICE, "http://unused"), ["site", "v1.4.2"]
    )
    assert reply.ok and reply.public, reply.text
    [(path, headers, body)] = github.received
    assert path == "/repos/acme/site/dispatches"
    assert (
        headers["Authorization"] == "Bearer ghp_test" and headers["Accept"] == "application/vnd.github+json"
    )
    assert body == {
        "event_type": "deploy-site",
        "client_payload": {"version": "v1.4.2", "requester": ALICE.person},
    }


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "GitHub refused the token (401)"),
        (404, "GitHub says acme/site does not exist or the token may not see it (404)"),
        (
            422,
            "GitHub refused the dispatch as invalid (422); check the event type 'deploy-site'. GitHub said",
        ),
    ],
)
def test_githubs_refusals_are_answered_in_words(github: GitHubStandIn, status: int, says: str) -> None:
    github.status = status
    reply = github_actions(f"http://127.0.0.1:{github.port}").deploy(
        Context(ALICE, "http://unused"), ["site"]
    )
    assert not reply.ok and not reply.public and says in reply.text
    assert "ghp_test" not in reply.text


def test_github_api_url_must_be_https_unless_loopback() -> None:
    reply = github_actions("http://github.example.com").deploy(Context(ALICE, "http://unused"), ["site"])
    assert reply == Reply("GITHUB_API_URL must use https; nothing was sent.", ok=False)


def test_deploying_a_github_target_needs_the_deploy_permission(github: GitHubStandIn) -> None:
    reply = github_actions(f"http://127.0.0.1:{github.port}").deploy(
        Context(Actor("carol", "U0C", "carol"), ""), ["site"]
    )
    assert not reply.ok and github.received == []


# -- as the chat table calls them --------------------------------------------------------------


@dataclass(frozen=True)
class Grants:
    """The chat side's ``Permissions`` shape: ``globs(action)``."""

    def globs(self, action: str) -> tuple[str, ...]:
        return tuple(PERMISSIONS.get(action, ()))


@dataclass
class Clicked:
    channel: str
    ts: str
    message: dict[str, Any]


@dataclass
class Session(Context):
    """What the chat side's ChatSession offers the pipeline actions."""

    region: str = "eu-west-1"
    settings: Any = None
    clicked: Clicked | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)

    def update_message(self, where: Clicked, payload: dict[str, Any]) -> None:
        self.updates.append(payload)


def test_a_decided_gate_rewrites_the_clicked_message(
    aws: CodePipelineStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handler.actions import pipeline_commands
    from handler.render.pipeline import render_pipeline_notice
    from handler.runs import Approval, NoticeKind, PipelineNotice

    monkeypatch.setenv("PIPELINES", '["web-deploy"]')
    pipeline_commands._settings.cache_clear()
    value = gate(aws)
    message = render_pipeline_notice(
        PipelineNotice(
            NoticeKind.APPROVAL,
            "web-deploy",
            "e9",
            "eu-west-1",
            approval=Approval("Deploy", "Approve"),
            interactive=True,
        )
    )
    assert len(message["attachments"]) == 2
    session = Session(
        ALICE,
        aws.url,
        settings=type("S", (), {"permissions": Grants()})(),
        clicked=Clicked("C1", "1.2", message),
    )
    reply = pipeline_commands.approve_deploy(session, value)
    assert reply.ok, reply.text
    [updated] = session.updates
    assert updated["attachments"][0] == message["attachments"][0]
    assert updated["attachments"][1]["text"] == "✓ Approved by arn:aws:iam::123456789012:user/alice"
    assert "blocks" not in json.dumps(updated)
    again = pipeline_commands.reject_deploy(
        Session(BOB, aws.url, settings=session.settings, clicked=Clicked("C1", "1.2", message)), value
    )
    assert not again.ok and "no longer waits" in again.text
    pipeline_commands._settings.cache_clear()


def test_the_table_functions_refuse_without_permissions(
    aws: CodePipelineStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handler.actions import pipeline_commands

    monkeypatch.setenv("PIPELINES", '["web-deploy"]')
    pipeline_commands._settings.cache_clear()
    reply = pipeline_commands.deploy(Session(ALICE, aws.url), ["web-deploy"])
    assert not reply.ok and 'under "deploy"' in reply.text and aws.calls == []
    pipeline_commands._settings.cache_clear()


# -- what a person or git wrote is inert in the reply (review findings) --------------------------

#: Text that would ping, link or format in Slack mrkdwn if a reply echoed it as it came.
HOSTILE = ["<!channel>", "<!here>", "<@U0EVE0001>", "<https://evil.example|click me>", "<!subteam^S1>"]


def assert_inert(text: str, hostile: str) -> None:
    assert hostile not in text, text
    assert escape(hostile) in text, text


@pytest.mark.parametrize("hostile", HOSTILE)
def test_an_unknown_pipeline_name_is_echoed_inert(hostile: str) -> None:
    reply = actions().deploy(Context(ALICE, "http://unused"), [hostile])
    assert not reply.ok
    assert hostile not in reply.text and "&lt;" in reply.text


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_branch_name_is_echoed_inert_in_the_deploy_reply(aws: CodePipelineStandIn, hostile: str) -> None:
    web_deploy(aws)
    aws.branches[("app", hostile)] = MAIN_TIP  # git allows <, >, ! and | in a branch name
    reply = actions().deploy(Context(ALICE, aws.url), ["web-deploy", hostile])
    assert reply.ok, reply.text
    assert_inert(reply.text, hostile)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_missing_ref_is_echoed_inert(aws: CodePipelineStandIn, hostile: str) -> None:
    web_deploy(aws)
    reply = actions().deploy(Context(ALICE, aws.url), ["web-deploy", hostile])
    assert not reply.ok
    assert_inert(reply.text, hostile)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_commit_subject_is_inert_in_status_and_rollback(aws: CodePipelineStandIn, hostile: str) -> None:
    good = execution("e1", "Succeeded")
    good["sourceRevisions"][0]["revisionSummary"] = f"{hostile} ship it"
    web_deploy(
        aws,
        executions=[execution("e2", "Failed"), good],
        stage_states=[
            {"stageName": "Deploy", "latestExecution": {"pipelineExecutionId": "e2", "status": "Failed"}}
        ],
    )
    status = actions().status(Context(ALICE, aws.url), ["web-deploy"])
    assert_inert(status.text, hostile)
    rolled = actions().rollback(Context(ALICE, aws.url), ["web-deploy", "Deploy"])
    assert rolled.ok, rolled.text
    assert_inert(rolled.text, hostile)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_forged_gate_value_is_echoed_inert(aws: CodePipelineStandIn, hostile: str) -> None:
    gate(aws)
    value = GateTarget("web-deploy", hostile, "Approve", "e9").value()
    reply = actions().approve(Context(ALICE, aws.url), value)
    assert not reply.ok and "PutApprovalResult" not in aws.operations()
    assert hostile not in reply.text


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_github_version_is_echoed_inert(github: GitHubStandIn, hostile: str) -> None:
    reply = github_actions(f"http://127.0.0.1:{github.port}").deploy(
        Context(ALICE, "http://unused"), ["site", hostile]
    )
    assert reply.ok, reply.text
    assert_inert(reply.text, hostile)


def test_a_gate_whose_starter_cannot_be_read_is_not_answered(aws: CodePipelineStandIn) -> None:
    """Fail closed: when GetPipelineExecution is refused, nobody may approve what they may have started."""
    value = gate(aws, started_by="alice")

    def refused(body: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("ThrottlingException", "Rate exceeded")

    aws._codepipeline_get_pipeline_execution = refused  # type: ignore[method-assign]
    reply = actions().approve(Context(ALICE, aws.url), value)
    assert not reply.ok and "PutApprovalResult" not in aws.operations(), reply.text
    assert "Nothing was done" in reply.text
