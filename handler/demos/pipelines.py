"""The pipelines part of ``make demo``: a deploy from chat, and the run's life in the channel.

No AWS account: the CodePipeline and CodeCommit clients are botocore's own, answered by
:class:`botocore.stub.Stubber` (which checks every request and every scripted answer against the
service model). Each event is the EventBridge event AWS would send (shaped like the samples in
``tests/fixtures/pipelines/``), run through :func:`handler.app.process_event` and delivered to a
capture webhook and a Slack Web API stand-in on 127.0.0.1. The steps:

1. Ana types ``/codecommit deploy web-deploy main``: the pipeline starts at main's tip, as her;
2. the run starts (which commit, who started it);
3. its Build action fails: the CodeBuild build's event lends its logs link, the action's event
   its summary, the run's event posts the failure, also in the thread of the pull request whose
   tip it built;
4. the next run succeeds: *fixed*, also in that thread;
5. its Production gate waits (Approve / Reject), and Bob approves it from the message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PIPELINE = "web-deploy"
REPOSITORY = "payments-service"
ANA = f"arn:aws:sts::{ACCOUNT}:assumed-role/ChatActor/ana.nunez@example.com"
FAILING = "5f3e2a9c4b1d6e7f8091a2b3c4d5e6f708192a3b"
FIXED = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
RUN_1 = "3776ce0b-26ba-40a5-a1ef-2f1f2591934e"
RUN_2 = "8d2c7ba5-902c-43f1-b1f2-377922a66281"
BUILD_ID = "web-deploy-build:845a17d1-3901-40aa-a169-15f7545eca60"
ROUTES = {"routes": [{"events": ["pipeline"], "to": ["default", "reviews"]}]}
DESTINATIONS = {"reviews": {"type": "slack-app", "channel": "C0DEMOREVIEWS"}}
THREAD_TS = "1700000000.000100"


def declaration() -> dict[str, Any]:
    """``web-deploy``: CodeCommit source (main), a CodeBuild build, a manual gate, a deploy."""

    def action(name: str, category: str, provider: str, **configuration: str) -> dict[str, Any]:
        kind = {"category": category, "owner": "AWS", "provider": provider, "version": "1"}
        return {"name": name, "actionTypeId": kind, "configuration": configuration}

    return {
        "name": PIPELINE,
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/pipeline",
        "artifactStore": {"type": "S3", "location": "artifacts"},
        "pipelineType": "V2",
        "version": 3,
        "stages": [
            {
                "name": "Source",
                "actions": [
                    action("Source", "Source", "CodeCommit", RepositoryName=REPOSITORY, BranchName="main")
                ],
            },
            {
                "name": "Build",
                "actions": [action("Build", "Build", "CodeBuild", ProjectName="web-deploy-build")],
            },
            {
                "name": "Production",
                "actions": [
                    action(
                        "Approve",
                        "Approval",
                        "Manual",
                        CustomData="Staging smoke tests are green? Then ship it.",
                        ExternalEntityLink="https://staging.example.com/health",
                    ),
                    action("Deploy", "Deploy", "CodeDeploy", ApplicationName="web"),
                ],
            },
        ],
    }


def execution(run: str, commit: str, subject: str) -> dict[str, Any]:
    """GetPipelineExecution's answer for a run Ana started."""
    return {
        "pipelineExecution": {
            "pipelineName": PIPELINE,
            "pipelineVersion": 3,
            "pipelineExecutionId": run,
            "status": "InProgress",
            "artifactRevisions": [
                {"name": "SourceArtifact", "revisionId": commit, "revisionSummary": subject}
            ],
            "trigger": {"triggerType": "StartPipelineExecution", "triggerDetail": ANA},
        }
    }


def event(
    detail_type: str, detail: dict[str, Any], at: str, source: str = "aws.codepipeline"
) -> dict[str, Any]:
    """An EventBridge event as AWS sends it (the shape of the samples in tests/fixtures/pipelines/)."""
    resource = f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{PIPELINE}"
    return {
        "version": "0",
        "id": f"demo-{detail_type[:12]}-{detail.get('state', detail.get('build-status'))}-{at}",
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": at,
        "region": REGION,
        "resources": [resource],
        "detail": detail,
    }


def run_event(run: str, state: str, at: str) -> dict[str, Any]:
    detail = {
        "pipeline": PIPELINE,
        "execution-id": run,
        "start-time": "2026-12-07T09:00:00.000Z",
        "state": state,
    }
    return event(
        "CodePipeline Pipeline Execution State Change",
        {**detail, "version": 3.0, "pipeline-execution-attempt": 1.0},
        at,
    )


def stubbed(service: str) -> tuple[Any, Any]:
    """A real botocore client and its Stubber (requests and answers checked against the model)."""
    import botocore.session
    from botocore.stub import Stubber

    client = botocore.session.get_session().create_client(
        service, REGION, aws_access_key_id="demo", aws_secret_access_key="demo"
    )
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


def run_pipeline_demo(out: TextIO, *, json_only: bool = False) -> int:  # noqa: C901, PLR0915 (a script, step by step)
    """Play the steps and print what each posts; return how many messages and API calls were made."""
    from handler.actions.context import Actor
    from handler.actions.pipelines import PipelineActions, glob_permit
    from handler.app import process_event
    from handler.deadline import Deadline
    from handler.deliver.webhook_url import DestinationSecrets
    from handler.demos.delivery import SecretsInMemory
    from handler.enrich.codepipeline import PipelineRunRuntime
    from handler.preview import capture_slack_api, capture_webhook, describe
    from handler.render.pipeline import after_gate, render_pipeline_notice
    from handler.runs import Approval, NoticeKind, PipelineNotice
    from handler.runtime import Runtime
    from handler.settings import Settings
    from handler.state.memory import MemoryStore

    settings = Settings.from_environ(
        {
            "PIPELINES": json.dumps([PIPELINE]),
            "DESTINATIONS": json.dumps(DESTINATIONS),
            "ROUTES": json.dumps(ROUTES),
        }
    )
    notifier_pipeline, notifier_stub = stubbed("codepipeline")
    notifier_codecommit, codecommit_stub = stubbed("codecommit")
    actor_pipeline, actor_stub = stubbed("codepipeline")
    actor_codecommit, actor_codecommit_stub = stubbed("codecommit")
    state = MemoryStore()
    scope = f"{ACCOUNT}:{REGION}:{REPOSITORY}#12"
    state.put_new(f"thread#reviews#{scope}", {"channel": "C0DEMOREVIEWS", "ts": THREAD_TS}, expires_at=None)
    count = 0

    def say(text: str) -> None:
        if not json_only:
            print(text, file=out)

    class As:
        """The chat side's context: the person, and clients acting as them."""

        def __init__(self, actor: Actor) -> None:
            self.actor = actor

        def client(self, service: str, region: str) -> Any:
            return actor_pipeline if service == "codepipeline" else actor_codecommit

    def notifier_reads(run: str, commit: str, subject: str, *, pull_request: bool) -> None:
        notifier_stub.add_response("get_pipeline", {"pipeline": declaration()}, {"name": PIPELINE})
        notifier_stub.add_response(
            "get_pipeline_execution",
            execution(run, commit, subject),
            {"pipelineName": PIPELINE, "pipelineExecutionId": run},
        )
        if pull_request:
            codecommit_stub.add_response(
                "list_pull_requests",
                {"pullRequestIds": ["12"]},
                {"repositoryName": REPOSITORY, "pullRequestStatus": "OPEN"},
            )
            target = {
                "repositoryName": REPOSITORY,
                "sourceReference": "refs/heads/main",
                "destinationReference": "refs/heads/release",
                "sourceCommit": commit,
            }
            codecommit_stub.add_response(
                "get_pull_request",
                {"pullRequest": {"pullRequestId": "12", "pullRequestTargets": [target]}},
                {"pullRequestId": "12"},
            )

    ana = Actor("ana.nunez@example.com", "U0ANA0001", "ana.nunez@example.com")
    bob = Actor("bob", "U0BOB0001", "bob")
    actions = PipelineActions(
        pipelines=settings.pipelines,
        region=REGION,
        permit=glob_permit({"deploy": ["ana.*"], "approve_deploy": ["bob"]}),
        github_targets={},
    )
    say(
        "\n\nPipelines from chat (CodePipeline and CodeCommit answered by botocore's Stubber, checked "
        "against the service models; the messages go to a Slack webhook and a Slack app thread):"
    )
    with capture_webhook() as (url, received), capture_slack_api() as (api_url, calls):
        runtime = Runtime(
            settings=settings,
            reader_for=lambda repository: None,  # type: ignore[arg-type,return-value]  # no commits read
            secrets=DestinationSecrets(
                url=url,
                secret_arn="demo-secret",
                secrets_client=lambda region: SecretsInMemory({"default": url, "reviews": "xoxb-demo-token"}),
            ),
            state=state,
            slack_api_url=api_url,
            pipeline_runs=PipelineRunRuntime(
                lambda region: notifier_pipeline, lambda region: notifier_codecommit
            ),
        )

        def show(title: str, step: Callable[[], Any]) -> None:
            nonlocal count
            say(f"\n══ {title} " + "═" * max(0, 66 - len(title)))
            result = step()
            if isinstance(result, str):
                say(result)
            for payload in received:
                count += 1
                say(
                    describe(payload, color=out.isatty())
                    if not json_only
                    else json.dumps(payload, ensure_ascii=False)
                )
            for call in calls:
                count += 1
                thread = call.arguments.get("thread_ts")
                say(f"[Slack app: {call.method}" + (f" in the thread {thread}]" if thread else "]"))
                shown = {
                    key: value for key, value in call.arguments.items() if key in ("text", "attachments")
                }
                say(
                    describe(shown, color=out.isatty())
                    if not json_only
                    else json.dumps(shown, ensure_ascii=False)
                )
            received.clear()
            calls.clear()

        def deploy() -> str:
            actor_stub.add_response("get_pipeline", {"pipeline": declaration()}, {"name": PIPELINE})
            actor_codecommit_stub.add_response(
                "get_branch",
                {"branch": {"branchName": "main", "commitId": FAILING}},
                {"repositoryName": REPOSITORY, "branchName": "main"},
            )
            source = [{"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": FAILING}]
            actor_stub.add_response(
                "start_pipeline_execution",
                {"pipelineExecutionId": RUN_1},
                {"name": PIPELINE, "sourceRevisions": source},
            )
            reply = actions.deploy(As(ana), [PIPELINE, "main"])
            return f"/codecommit deploy {PIPELINE} main  (Ana) →\n{reply.text}"

        def started() -> None:
            notifier_reads(RUN_1, FAILING, "Charge the card once", pull_request=False)
            process_event(run_event(RUN_1, "STARTED", "2026-12-07T09:00:01Z"), runtime, Deadline(None))

        def failed() -> None:
            build = {
                "build-status": "FAILED",
                "project-name": "web-deploy-build",
                "build-id": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:build/{BUILD_ID}",
                "additional-information": {
                    "initiator": f"codepipeline/{PIPELINE}",
                    "logs": {
                        "deep-link": f"https://console.aws.amazon.com/cloudwatch/home?region={REGION}#logEvent:"
                        f"group=/aws/codebuild/web-deploy-build;stream={BUILD_ID.split(':')[1]}"
                    },
                    "phases": [
                        {
                            "phase-type": "BUILD",
                            "phase-status": "FAILED",
                            "phase-context": [
                                "COMMAND_EXECUTION_ERROR: Error while executing command: pytest. "
                                "Reason: exit status 1"
                            ],
                        },
                    ],
                },
            }
            process_event(
                event("CodeBuild Build State Change", build, "2026-12-07T09:03:58Z", "aws.codebuild"),
                runtime,
                Deadline(None),
            )
            action = {
                "pipeline": PIPELINE,
                "execution-id": RUN_1,
                "stage": "Build",
                "action": "Build",
                "state": "FAILED",
                "execution-result": {
                    "external-execution-id": BUILD_ID,
                    "error-code": "JobFailed",
                    "external-execution-summary": "Build terminated with state: FAILED",
                },
                "type": {"owner": "AWS", "category": "Build", "provider": "CodeBuild", "version": "1"},
            }
            process_event(
                event("CodePipeline Action Execution State Change", action, "2026-12-07T09:03:59Z"),
                runtime,
                Deadline(None),
            )
            notifier_reads(RUN_1, FAILING, "Charge the card once", pull_request=True)
            process_event(run_event(RUN_1, "FAILED", "2026-12-07T09:04:00Z"), runtime, Deadline(None))

        def fixed() -> None:
            notifier_reads(RUN_2, FIXED, "Charge the card once, really", pull_request=True)
            process_event(run_event(RUN_2, "SUCCEEDED", "2026-12-07T09:20:12Z"), runtime, Deadline(None))

        def gate() -> str:
            notifier_reads(RUN_2, FIXED, "Charge the card once, really", pull_request=False)
            action = {
                "pipeline": PIPELINE,
                "execution-id": RUN_2,
                "stage": "Production",
                "action": "Approve",
                "state": "STARTED",
                "type": {"owner": "AWS", "provider": "Manual", "category": "Approval", "version": "1"},
            }
            process_event(
                event("CodePipeline Action Execution State Change", action, "2026-12-07T09:21:00Z"),
                runtime,
                Deadline(None),
            )
            gate_message = render_pipeline_notice(
                PipelineNotice(
                    NoticeKind.APPROVAL,
                    PIPELINE,
                    RUN_2,
                    REGION,
                    interactive=True,
                    approval=Approval(
                        "Production", "Approve", "Staging smoke tests are green? Then ship it."
                    ),
                )
            )
            buttons = gate_message["attachments"][-1]["blocks"][0]["elements"]
            actor_stub.add_response(
                "get_pipeline_state",
                {
                    "pipelineName": PIPELINE,
                    "stageStates": [
                        {
                            "stageName": "Production",
                            "latestExecution": {"pipelineExecutionId": RUN_2, "status": "InProgress"},
                            "actionStates": [
                                {
                                    "actionName": "Approve",
                                    "latestExecution": {"status": "InProgress", "token": "demo-token"},
                                }
                            ],
                        }
                    ],
                },
                {"name": PIPELINE},
            )
            actor_stub.add_response(
                "get_pipeline_execution",
                execution(RUN_2, FIXED, "Charge the card once, really"),
                {"pipelineName": PIPELINE, "pipelineExecutionId": RUN_2},
            )
            actor_stub.add_response(
                "put_approval_result",
                {"approvedAt": datetime(2026, 12, 7, 9, 25, tzinfo=UTC)},
                {
                    "pipelineName": PIPELINE,
                    "stageName": "Production",
                    "actionName": "Approve",
                    "token": "demo-token",
                    "result": {"summary": "Approved by bob from chat", "status": "Approved"},
                },
            )
            reply = actions.approve(As(bob), buttons[0]["value"])
            updated = after_gate(gate_message, reply.decided)
            return (
                '(on a slack-app destination with "interactive": true the gate carries '
                + " / ".join(button["text"]["text"] for button in buttons)
                + f")\nBob clicks Approve → {reply.text}\nThe gate's message becomes:\n"
                + describe(updated, color=out.isatty())
            )

        show("1. Ana deploys main from chat", deploy)
        show("2. the run starts", started)
        show("3. its build fails (told in the channel and in pull request #12's thread)", failed)
        show("4. the next run succeeds: fixed (and told in #12's thread)", fixed)
        show("5. the Production gate waits, Bob approves it", gate)
    for stub in (notifier_stub, codecommit_stub, actor_stub, actor_codecommit_stub):
        stub.assert_no_pending_responses()
    return count
