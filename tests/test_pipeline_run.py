"""handler/pipelines/pipeline_run.py end to end: real samples in, stand-ins for CodePipeline,
CodeCommit, Slack's webhook and Web API, real botocore clients and the real state store."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
import pytest
from moto import mock_aws

from handler.deadline import Deadline
from handler.deliver.webhook_url import DestinationSecrets
from handler.enrich.codepipeline import PipelineRunRuntime
from handler.pipelines.pipeline_run import process_pipeline_event
from handler.runtime import Runtime
from handler.settings import Settings
from handler.state.memory import MemoryStore
from tests.standins import slack, slack_web_api
from tests.standins.codepipeline import CodePipelineStandIn, StoredPipeline, codecommit_pipeline
from tests.test_codepipeline_source import CODEBUILD_PIPELINE, load_pipeline_fixture

COMMIT = "8cf40f2e1c3d4b5a69788796a5b4c3d2e1f00a1b"
EXECUTION = "12345678-1234-5678-abcd-12345678abcd"
NO_DEADLINE = Deadline(None)


@dataclass
class World:
    """The stand-ins, and a runtime over them with the settings a test names."""

    pipelines: CodePipelineStandIn
    webhook: slack.SlackStandIn
    state: MemoryStore = field(default_factory=MemoryStore)
    environ: dict[str, str] = field(default_factory=dict)
    secret_arn: str | None = None
    slack_api_url: str | None = None

    @property
    def settings(self) -> Settings:
        variables = {
            "PIPELINES": json.dumps(["myPipeline", "my-pipeline", CODEBUILD_PIPELINE]),
            **self.environ,
        }
        if self.secret_arn is None:
            variables["SLACK_WEBHOOK_URL"] = self.webhook.url
        return Settings.from_environ(variables)

    @property
    def secrets(self) -> DestinationSecrets:
        return DestinationSecrets(
            url=None if self.secret_arn else self.webhook.url,
            secret_arn=self.secret_arn,
            secrets_client=lambda region: boto3.client("secretsmanager", region_name=region or "eu-west-1"),
        )

    def edges(self) -> PipelineRunRuntime:
        session = botocore.session.get_session()

        def client(service: str) -> Any:
            return lambda region: session.create_client(
                service,
                region,
                endpoint_url=self.pipelines.url,
                aws_access_key_id="AKIDNOTIFIER",
                aws_secret_access_key="x",
            )

        return PipelineRunRuntime(client("codepipeline"), client("codecommit"))

    def run(self, event: dict[str, Any], *, enrich: bool = True) -> dict[str, int]:
        runtime = Runtime(
            settings=self.settings,
            reader_for=lambda repository: None,  # type: ignore[arg-type,return-value]  # no commits read
            secrets=self.secrets,
            state=self.state,
            slack_api_url=self.slack_api_url,
            pipeline_runs=self.edges if enrich else None,
        )
        return process_pipeline_event(event, runtime, NO_DEADLINE)

    def texts(self) -> list[str]:
        return [
            payload["text"] + "\n" + payload["attachments"][0]["text"] for payload in self.webhook.delivered
        ]


def my_pipeline(name: str = "myPipeline", **stages: Any) -> StoredPipeline:
    declaration = codecommit_pipeline(name, repository="my-repo", branch="main")
    declaration["stages"].append(
        {
            "name": "Production",
            "actions": [
                {
                    "name": "Approve",
                    "actionTypeId": {
                        "category": "Approval",
                        "owner": "AWS",
                        "provider": "Manual",
                        "version": "1",
                    },
                    "configuration": {
                        "CustomData": "Check <!channel> staging first",
                        "ExternalEntityLink": "https://staging.example.com",
                    },
                }
            ],
        }
    )
    executions = [
        {
            "pipelineExecutionId": EXECUTION,
            "status": "InProgress",
            "sourceRevisions": [
                {
                    "actionName": "Source",
                    "revisionId": COMMIT,
                    "revisionSummary": "Fix the login redirect\n\nBody",
                }
            ],
            "trigger": {
                "triggerType": "StartPipelineExecution",
                "triggerDetail": "arn:aws:sts::123456789012:assumed-role/Admin/my-user",
            },
        }
    ]
    return StoredPipeline(declaration, executions, stages.get("stage_states", []))


@pytest.fixture
def world() -> Iterator[World]:
    pipelines = CodePipelineStandIn().start()
    try:
        with slack.running() as webhook:
            yield World(pipelines, webhook)
    finally:
        pipelines.stop()


def with_state(name: str, state: str, **changes: Any) -> dict[str, Any]:
    """A sample with another ``detail.state`` (and other detail fields): how the tests get the
    states AWS publishes no sample of (SUPERSEDED, STOPPED)."""
    event = copy.deepcopy(load_pipeline_fixture(name))
    event["detail"]["state"] = state
    event["detail"].update(changes)
    return event


def test_started_says_which_commit_and_who_from_get_pipeline_execution(world: World) -> None:
    world.pipelines.add_pipeline(my_pipeline())
    assert world.run(load_pipeline_fixture("awsdoc_pipeline_started")) == {"delivered": 1}
    [text] = world.texts()
    assert text.startswith("▶ myPipeline started")
    commit_link = "https://us-east-1.console.aws.amazon.com/codesuite/codecommit/repositories/my-repo/commit/"
    assert f"<{commit_link}{COMMIT}?region=us-east-1|`8cf40f2`> Fix the login redirect on `main`" in text
    assert "Started by my-user" in text
    assert set(world.pipelines.operations()) == {"GetPipeline", "GetPipelineExecution"}
    assert {call.access_key for call in world.pipelines.calls} == {"AKIDNOTIFIER"}


def test_without_reads_the_event_itself_says_who(world: World) -> None:
    assert world.run(load_pipeline_fixture("awsdoc_pipeline_started"), enrich=False) == {"delivered": 1}
    assert "Started by my-user" in world.texts()[0]


def test_a_failure_names_the_action_an_action_event_reported(world: World) -> None:
    world.pipelines.add_pipeline(my_pipeline())
    assert world.run(load_pipeline_fixture("awsdoc_action_deploy_failed")) == {
        "delivered": 0,
        "remembered": 1,
    }
    assert world.webhook.delivered == []
    assert world.run(load_pipeline_fixture("awsdoc_pipeline_failed")) == {"delivered": 1}
    [text] = world.texts()
    assert text.startswith("✗ myPipeline failed at Deploy / Deploy")
    assert "Failed at *Deploy* / *Deploy* (JobFailed)" in text
    assert ">Deployment &lt;ID&gt; failed" in text
    assert "Failed in" not in text and "GetPipelineState" not in world.pipelines.operations()


def test_a_build_failure_links_the_builds_logs_and_says_what_failed(world: World) -> None:
    build_id = (
        "functionci-thestackshack-serverless-demo-master-code-build:845a17d1-3901-40aa-a169-15f7545eca60"
    )
    pipeline = my_pipeline(CODEBUILD_PIPELINE)
    pipeline.stage_states = [
        {
            "stageName": "Build",
            "latestExecution": {"pipelineExecutionId": EXECUTION, "status": "Failed"},
            "actionStates": [
                {
                    "actionName": "Build",
                    "latestExecution": {
                        "status": "Failed",
                        "externalExecutionId": build_id,
                        "externalExecutionUrl": "https://console.aws.amazon.com/codebuild/home#/builds/x/view/new",
                        "errorDetails": {"code": "JobFailed", "message": ""},
                    },
                }
            ],
        }
    ]
    world.pipelines.add_pipeline(pipeline)
    build = load_pipeline_fixture("thirdparty_codebuild_failed")
    assert world.run(build) == {"delivered": 0, "remembered": 1}
    failed = with_state("awsdoc_pipeline_failed", "FAILED", pipeline=CODEBUILD_PIPELINE)
    failed.update(region="us-east-1", account="132093761664")
    assert world.run(failed) == {"delivered": 1}
    [text] = world.texts()
    assert "Failed at *Build* / *Build* (JobFailed)" in text
    assert ">YAML_FILE_ERROR: stat /codebuild/output/src424818173/src/buildspec.yml" in text
    assert "|Build logs>" in text and "#logEvent:group=/aws/codebuild/functionci" in text


def test_a_success_after_a_failure_is_fixed_and_the_next_one_plain_succeeded(world: World) -> None:
    world.pipelines.add_pipeline(my_pipeline())
    failed = load_pipeline_fixture("awsdoc_pipeline_failed")
    failed["region"] = "us-east-1"
    world.run(failed)
    world.run(load_pipeline_fixture("awsdoc_pipeline_succeeded"))
    again = load_pipeline_fixture("awsdoc_pipeline_succeeded")
    again["detail"]["execution-id"] = EXECUTION.replace("1234", "9999")
    world.run(again)
    heads = [text.split("\n")[0] for text in world.texts()]
    assert heads == ["✗ myPipeline failed", "✓ myPipeline fixed", "✓ myPipeline succeeded"]
    # AWS's sample started (2023) after it succeeded (2020): no duration rather than a wrong one
    assert "*Fixed*: succeeded, after a failure" in world.texts()[1]


def test_only_failures_and_fixes(world: World) -> None:
    world.environ["PIPELINE_EVENTS"] = "failed,fixed"
    world.pipelines.add_pipeline(my_pipeline())
    assert world.run(load_pipeline_fixture("awsdoc_pipeline_started")) == {"delivered": 0, "filtered": 1}
    first_success = with_state("awsdoc_pipeline_succeeded", "SUCCEEDED", **{"execution-id": "a" * 36})
    assert world.run(first_success) == {"delivered": 0, "filtered": 1}
    failed = load_pipeline_fixture("awsdoc_pipeline_failed")
    failed["region"] = "us-east-1"
    assert world.run(failed) == {"delivered": 1}
    assert world.run(load_pipeline_fixture("awsdoc_pipeline_succeeded")) == {"delivered": 1}
    assert [text.split("\n")[0] for text in world.texts()] == ["✗ myPipeline failed", "✓ myPipeline fixed"]


def test_stopped_and_superseded_are_said_once(world: World) -> None:
    world.pipelines.add_pipeline(my_pipeline())
    stopping = with_state("awsdoc_pipeline_succeeded", "STOPPING")
    assert world.run(stopping) == {"delivered": 0, "ignored": 1}
    stopped = with_state("awsdoc_pipeline_succeeded", "STOPPED")
    assert world.run(stopped) == {"delivered": 1}
    stopped_again = with_state("awsdoc_pipeline_succeeded", "STOPPED")
    stopped_again["id"] = "another-event-id"
    assert world.run(stopped_again) == {"delivered": 0, "duplicate": 1}
    superseded = with_state("awsdoc_pipeline_succeeded", "SUPERSEDED", **{"execution-id": "b" * 36})
    assert world.run(superseded) == {"delivered": 1}
    assert world.run(superseded) == {"delivered": 0, "duplicate": 1}
    assert [text.split("\n")[0] for text in world.texts()] == [
        "■ myPipeline stopped",
        "↷ myPipeline: a run was superseded by a newer one",
    ]


def test_a_redelivered_event_posts_once(world: World) -> None:
    world.pipelines.add_pipeline(my_pipeline())
    event = load_pipeline_fixture("awsdoc_pipeline_started")
    assert world.run(event) == {"delivered": 1}
    assert world.run(event) == {"delivered": 0, "duplicate": 1}
    assert len(world.webhook.delivered) == 1


@pytest.mark.parametrize(
    "name", ["awsdoc_pipeline_started", "thirdparty_action_approval_started", "thirdparty_codebuild_failed"]
)
def test_a_pipeline_the_stack_does_not_know_is_dropped_before_any_read(world: World, name: str) -> None:
    world.environ["PIPELINES"] = '["another"]'
    assert world.run(load_pipeline_fixture(name)) == {"delivered": 0, "dropped": 1}
    assert world.webhook.delivered == [] and world.pipelines.calls == []


def test_a_build_a_person_started_is_dropped(world: World) -> None:
    assert world.run(load_pipeline_fixture("awslabs_codebuild_succeeded")) == {"delivered": 0, "dropped": 1}


def test_an_approval_gate_on_a_webhook_has_the_summary_and_link_but_no_buttons(world: World) -> None:
    world.pipelines.add_pipeline(my_pipeline("my-pipeline"))
    assert world.run(load_pipeline_fixture("thirdparty_action_approval_started")) == {"delivered": 1}
    [payload] = world.webhook.delivered
    assert payload["text"] == "⏸ my-pipeline waits for approval at Production / Approve"
    text = payload["attachments"][0]["text"]
    assert ">Check &lt;!channel&gt; staging first" in text
    assert "<https://staging.example.com|What to review>" in text
    assert len(payload["attachments"]) == 1


def test_routes_filter_pipelines_by_name(world: World) -> None:
    world.environ["ROUTES"] = json.dumps({"filters": [{"pipelines": ["my*"]}]})
    world.pipelines.add_pipeline(my_pipeline())
    assert world.run(load_pipeline_fixture("awsdoc_pipeline_started")) == {"delivered": 0, "filtered": 1}


@contextmanager
def app_world() -> Iterator[tuple[World, CodePipelineStandIn, Any]]:
    """A world whose pipeline runs go to a Slack app destination (the bot token in the secret), with
    ``my_pipeline`` known: what a pull request's thread needs. Yields the world, CodePipeline and the
    Slack Web API stand-in."""
    pipelines = CodePipelineStandIn().start()
    try:
        with slack.running() as webhook, slack_web_api.running() as api, mock_aws():
            client = boto3.client("secretsmanager", region_name="eu-west-1")
            arn = client.create_secret(
                Name="notifier", SecretString=json.dumps({"bot": slack_web_api.TOKEN})
            )["ARN"]
            destinations = {"app": {"type": "slack-app", "channel": "C0REVIEWS01", "secret": "bot"}}
            world = World(pipelines, webhook, secret_arn=arn, slack_api_url=api.base_url)
            world.environ.update(
                DESTINATIONS=json.dumps(destinations),
                ROUTES=json.dumps({"routes": [{"events": ["pipeline"], "to": ["app"]}]}),
            )
            pipelines.add_pipeline(my_pipeline())
            yield world, pipelines, api
    finally:
        pipelines.stop()


def test_a_finished_run_of_a_pull_requests_tip_is_told_in_its_thread() -> None:
    with app_world() as (world, pipelines, api):
        pipelines.add_pull_request("7", "my-repo", "main", COMMIT)
        pipelines.add_pull_request("8", "my-repo", "feature", COMMIT)
        scope = "123456789012:us-east-1:my-repo#7"
        world.state.put_new(
            f"thread#app#{scope}", {"channel": "C0REVIEWS01", "ts": "1700000000.000100"}, expires_at=None
        )
        assert world.run(load_pipeline_fixture("awsdoc_pipeline_succeeded")) == {"delivered": 1}
        record = world.state.get(f"buildstatus#{scope}")
        assert record is not None and record.attributes["result"] == "passed"
        assert world.state.get("buildstatus#123456789012:us-east-1:my-repo#8") is None
        posts = api.calls_to("chat.postMessage")
        assert [call.thread_ts for call in posts] == [None, "1700000000.000100"]
        assert posts[1].payload["text"] == "✓ myPipeline succeeded"


def test_a_success_says_how_long_the_run_took(world: World) -> None:
    world.pipelines.add_pipeline(my_pipeline())
    succeeded = load_pipeline_fixture("awsdoc_pipeline_succeeded")
    succeeded["time"] = "2023-10-26T13:53:51Z"  # 4 min 12 s after the sample's start-time
    assert world.run(succeeded) == {"delivered": 1}
    assert "Succeeded in 4 min 12 s" in world.texts()[0]


def test_the_preview_renders_a_saved_pipeline_event_without_aws() -> None:
    from handler.pipelines.pipeline_run import render_saved_event
    from handler.preview import as_lambda_event

    event = as_lambda_event(load_pipeline_fixture("awsdoc_pipeline_started"))
    payload = render_saved_event(event, Settings())
    assert (
        payload["text"] == "▶ myPipeline started"
        and "Started by my-user" in payload["attachments"][0]["text"]
    )
    gate = render_saved_event(
        load_pipeline_fixture("thirdparty_action_approval_started"), Settings(), "mattermost"
    )
    assert gate["text"] == "⏸ my-pipeline waits for approval at Production / Approve"


def test_the_preview_says_why_a_saved_build_event_posts_nothing() -> None:
    from handler.errors import UnprocessableEvent
    from handler.pipelines.pipeline_run import render_saved_event

    with pytest.raises(UnprocessableEvent, match="not a CodePipeline run or action event"):
        render_saved_event(load_pipeline_fixture("thirdparty_codebuild_failed"), Settings())
    with pytest.raises(UnprocessableEvent, match="posts no message of its own"):
        render_saved_event(load_pipeline_fixture("awsdoc_action_deploy_failed"), Settings())


@pytest.mark.parametrize(
    "name", ["awsdoc_pipeline_started", "thirdparty_action_approval_started", "thirdparty_codebuild_failed"]
)
def test_the_lambda_sends_pipeline_and_build_events_down_this_path(name: str) -> None:
    from handler.app import event_path

    assert event_path(load_pipeline_fixture(name)).name == "pipeline_run"


def test_the_lambda_runs_a_pipeline_event_end_to_end(world: World) -> None:
    from handler.app import process_event

    world.pipelines.add_pipeline(my_pipeline())
    runtime = Runtime(
        settings=world.settings,
        reader_for=lambda repository: None,  # type: ignore[arg-type,return-value]  # no commits read
        secrets=world.secrets,
        state=world.state,
        pipeline_runs=world.edges,
    )
    assert process_event(load_pipeline_fixture("awsdoc_pipeline_started"), runtime, NO_DEADLINE) == {
        "delivered": 1
    }
    assert world.texts()[0].startswith("▶ myPipeline started")


def test_python_m_handler_previews_a_saved_pipeline_event() -> None:
    import subprocess
    import sys
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "pipelines" / "awsdoc_pipeline_failed.json"
    result = subprocess.run(
        [sys.executable, "-m", "handler", str(fixture)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "✗ myPipeline failed" in result.stdout
        and "Failed (the failing action could not be read)" in result.stdout
    )


def test_each_event_writes_one_outcome_line(world: World, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from tests.test_logs import KEYS, outcome_lines

    caplog.set_level(logging.INFO)
    world.pipelines.add_pipeline(my_pipeline())
    world.run(load_pipeline_fixture("awsdoc_pipeline_started"))
    world.run(load_pipeline_fixture("awslabs_codebuild_succeeded"))
    world.run(load_pipeline_fixture("awsdoc_action_deploy_failed"))
    started, build, action = outcome_lines(caplog)
    assert started.keys() >= KEYS
    assert (started["outcome"], started["source"], started["destinations"]) == (
        "delivered",
        "codepipeline",
        ["default"],
    )
    assert (build["outcome"], build["source"], build["kind"]) == (
        "dropped",
        "codebuild",
        "CodeBuild Build State Change",
    )
    assert (action["outcome"], action["reason"]) == (
        "filtered",
        "remembered for the run's failure message; posts nothing itself",
    )


def test_a_finished_run_puts_its_build_line_on_the_threads_parent_and_keeps_the_rest() -> None:
    """✓ build passed / ✗ build failed beside the approval buttons at once, not only at the pull
    request's next event; the parent's other lines and its buttons stay as they were."""
    with app_world() as (world, pipelines, api):
        pipelines.add_pull_request("7", "my-repo", "main", COMMIT)
        parent_ts = "1700000000.000050"
        blocks = [{"type": "actions", "elements": [{"type": "button", "action_id": "approve"}]}]
        api.messages[("C0REVIEWS01", parent_ts)] = {
            "type": "message",
            "ts": parent_ts,
            "text": "Pull request #7 in my-repo",
            "attachments": [
                {"color": "#1F6FEB", "text": "`main` → `prod`\n*✗ build failed* (old, `1111111`)"}
            ],
            "blocks": blocks,
        }
        scope = "123456789012:us-east-1:my-repo#7"
        world.state.put_new(
            f"thread#app#{scope}", {"channel": "C0REVIEWS01", "ts": parent_ts}, expires_at=None
        )
        assert world.run(load_pipeline_fixture("awsdoc_pipeline_succeeded")) == {"delivered": 1}
        [update] = api.calls_to("chat.update")
        assert update.payload["ts"] == parent_ts and update.payload["blocks"] == blocks
        text = update.payload["attachments"][0]["text"]
        assert text.startswith("`main` → `prod`\n")
        assert "✓ build passed" in text and "myPipeline" in text and "✗ build failed" not in text
