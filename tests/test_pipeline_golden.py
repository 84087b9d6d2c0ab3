"""Golden payloads of the pipeline-run path: a run started, failed (stage, action, error, logs),
fixed, and an approval gate (Approve / Reject on an interactive Slack app), each played from the
verbatim samples under tests/fixtures/pipelines/ through ``process_pipeline_event`` with the
CodePipeline stand-in, to Slack and to Mattermost.

``tests/golden/pipelines/<name>.json`` (Slack) and ``…/mattermost/<name>.json``; ``docs/screenshots.py``
draws them (docs/img/pipelines/). Rewrite them with ``make golden`` after an intended rendering
change, and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handler.render.pipeline import APPROVAL_BLOCK_ID, APPROVE_DEPLOY, REJECT_DEPLOY
from tests.standins import mattermost, slack, slack_web_api
from tests.standins.codepipeline import CodePipelineStandIn
from tests.test_codepipeline_source import CODEBUILD_PIPELINE, load_pipeline_fixture
from tests.test_golden import check_mattermost_payload, golden_path, write_golden
from tests.test_pipeline_run import EXECUTION, World, my_pipeline, with_state

GOLDEN = Path(__file__).parent / "golden" / "pipelines"
FLAVORS = ("slack", "mattermost")
CHANNEL = "C0REVIEWS01"


def started(world: World) -> None:
    world.pipelines.add_pipeline(my_pipeline())
    assert world.run(load_pipeline_fixture("awsdoc_pipeline_started")) == {"delivered": 1}


def failed(world: World) -> None:
    """A CodeBuild action fails: the build event lends its logs link and failed phase."""
    pipeline = my_pipeline(CODEBUILD_PIPELINE)
    build_id = (
        "functionci-thestackshack-serverless-demo-master-code-build:845a17d1-3901-40aa-a169-15f7545eca60"
    )
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
    assert world.run(load_pipeline_fixture("thirdparty_codebuild_failed")) == {
        "delivered": 0,
        "remembered": 1,
    }
    event = with_state("awsdoc_pipeline_failed", "FAILED", pipeline=CODEBUILD_PIPELINE)
    event.update(region="us-east-1", account="132093761664")
    assert world.run(event) == {"delivered": 1}


def fixed(world: World) -> None:
    """A failure, then a success of the same pipeline 4 min 12 s after it started: *fixed*."""
    world.pipelines.add_pipeline(my_pipeline())
    failure = load_pipeline_fixture("awsdoc_pipeline_failed")
    failure["region"] = "us-east-1"
    assert world.run(failure) == {"delivered": 1}
    success = load_pipeline_fixture("awsdoc_pipeline_succeeded")
    success["time"] = "2023-10-26T13:53:51Z"  # the sample's start-time + 4 min 12 s
    assert world.run(success) == {"delivered": 1}


def approval_gate(world: World) -> None:
    world.pipelines.add_pipeline(my_pipeline("my-pipeline"))
    assert world.run(load_pipeline_fixture("thirdparty_action_approval_started")) == {"delivered": 1}


SCENARIOS: dict[str, Callable[[World], None]] = {
    "started": started,
    "failed": failed,
    "fixed": fixed,
    "approval_gate": approval_gate,
}


@pytest.fixture
def pipelines() -> Iterator[CodePipelineStandIn]:
    stand_in = CodePipelineStandIn().start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def last_webhook_post(name: str, flavor: str, pipelines: CodePipelineStandIn) -> dict[str, Any]:
    """The last message the scenario posts to an incoming webhook of ``flavor``."""
    running = slack.running if flavor == "slack" else mattermost.running
    with running() as webhook:
        SCENARIOS[name](World(pipelines, webhook))
        posted: dict[str, Any] = webhook.delivered[-1]
    return posted


def slack_app_post(name: str, pipelines: CodePipelineStandIn) -> dict[str, Any]:
    """The message the scenario posts to an interactive Slack app (chat.postMessage)."""
    destinations = {"app": {"type": "slack-app", "channel": CHANNEL, "secret": "bot", "interactive": True}}
    with slack.running() as webhook, slack_web_api.running() as api, mock_aws():
        secrets = boto3.client("secretsmanager", region_name="eu-west-1")
        secret = json.dumps({"bot": slack_web_api.TOKEN})
        arn = secrets.create_secret(Name="notifier", SecretString=secret)["ARN"]
        world = World(pipelines, webhook, secret_arn=arn, slack_api_url=api.base_url)
        world.environ.update(
            DESTINATIONS=json.dumps(destinations),
            ROUTES=json.dumps({"routes": [{"events": ["pipeline"], "to": ["app"]}]}),
        )
        SCENARIOS[name](world)
        [call] = api.calls_to("chat.postMessage")
    return {key: call.payload[key] for key in ("text", "attachments") if key in call.payload}


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_pipeline_golden(name: str, flavor: str, pipelines: CodePipelineStandIn) -> None:
    if name == "approval_gate" and flavor == "slack":
        payload = slack_app_post(name, pipelines)
    else:
        payload = last_webhook_post(name, flavor, pipelines)
    golden = golden_path(GOLDEN, flavor, name)
    if os.environ.get("UPDATE_GOLDEN"):
        write_golden(golden, payload)
    assert golden.exists(), f"no golden file for {name} ({flavor}): run `make golden` and review it"
    assert payload == json.loads(golden.read_text(encoding="utf-8"))
    if flavor == "mattermost":
        check_mattermost_payload(payload)


def test_the_slack_approval_gate_golden_carries_both_buttons() -> None:
    gate = json.loads(golden_path(GOLDEN, "slack", "approval_gate").read_text(encoding="utf-8"))
    [block] = gate["attachments"][1]["blocks"]
    assert block["block_id"] == APPROVAL_BLOCK_ID
    assert [button["action_id"] for button in block["elements"]] == [APPROVE_DEPLOY, REJECT_DEPLOY]
    mattermost_gate = json.loads(
        golden_path(GOLDEN, "mattermost", "approval_gate").read_text(encoding="utf-8")
    )
    assert "blocks" not in json.dumps(mattermost_gate)  # no buttons where nobody can press them
