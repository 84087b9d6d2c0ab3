"""handler/sources/codepipeline.py against the verbatim samples in tests/fixtures/pipelines/."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.settings import Settings, pipeline_event_kinds, pipeline_names
from handler.sources import Dropped
from handler.sources.codepipeline import (
    ActionChange,
    BuildChange,
    RunChange,
    is_pipeline_event,
    parse_pipeline_event,
    pipeline_of_initiator,
)

FIXTURES = Path(__file__).parent / "fixtures" / "pipelines"
CODEBUILD_PIPELINE = "functionci-thestackshack-serverless-demo-master-AppCodePipeline-ZAKCN4G5I28G"
KNOWN = frozenset({"myPipeline", "my-pipeline", CODEBUILD_PIPELINE})


def load_pipeline_fixture(name: str) -> dict[str, Any]:
    """One verbatim sample from tests/fixtures/pipelines/ (see its SOURCES.md)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def test_pipeline_started_reads_every_field_of_the_aws_sample() -> None:
    raw = load_pipeline_fixture("awsdoc_pipeline_started")
    run = parse_pipeline_event(raw, KNOWN)
    assert isinstance(run, RunChange)
    assert (run.pipeline, run.execution_id, run.state) == (
        "myPipeline",
        raw["detail"]["execution-id"],
        "STARTED",
    )
    assert run.trigger_type == "StartPipelineExecution"
    assert run.trigger_detail == "arn:aws:sts::123456789012:assumed-role/Admin/my-user"
    assert run.attempt == 1
    assert run.started_at is not None and run.started_at.isoformat() == "2023-10-26T13:49:39.208000+00:00"
    assert (run.origin.account, run.origin.region, run.origin.event_id) == (
        "123456789012",
        "us-east-1",
        raw["id"],
    )


def test_action_failed_carries_the_summary_link_and_error_code() -> None:
    action = parse_pipeline_event(load_pipeline_fixture("awsdoc_action_deploy_failed"), KNOWN)
    assert isinstance(action, ActionChange)
    assert (action.stage, action.action, action.state) == ("Deploy", "Deploy", "FAILED")
    assert (action.category, action.provider, action.error_code) == ("Deploy", "CodeDeploy", "JobFailed")
    assert action.summary == "Deployment <ID> failed"
    assert action.external_url.startswith("https://us-west-2.console.aws.amazon.com/codedeploy/")
    assert not action.is_manual_approval


def test_manual_approval_started_is_an_approval_gate() -> None:
    action = parse_pipeline_event(load_pipeline_fixture("thirdparty_action_approval_started"), KNOWN)
    assert isinstance(action, ActionChange)
    assert action.is_manual_approval and action.state == "STARTED"
    assert (action.pipeline, action.stage, action.action) == ("my-pipeline", "Production", "Approve")


def test_codebuild_action_failed_without_execution_result_still_parses() -> None:
    action = parse_pipeline_event(load_pipeline_fixture("thirdparty_action_codebuild_failed"), KNOWN)
    assert isinstance(action, ActionChange)
    assert (action.provider, action.state, action.summary, action.external_url) == (
        "CodeBuild",
        "FAILED",
        "",
        "",
    )


def test_a_build_started_by_a_known_pipeline_is_mapped_to_it() -> None:
    build = parse_pipeline_event(load_pipeline_fixture("thirdparty_codebuild_failed"), KNOWN)
    assert isinstance(build, BuildChange)
    assert build.pipeline == CODEBUILD_PIPELINE and build.state == "FAILED"
    assert (
        build.build_id
        == "functionci-thestackshack-serverless-demo-master-code-build:845a17d1-3901-40aa-a169-15f7545eca60"
    )
    assert build.logs_url.startswith(
        "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:"
    )
    assert build.failed_phase == "DOWNLOAD_SOURCE"
    assert build.failed_context.startswith("YAML_FILE_ERROR: stat /codebuild/")


def test_a_build_a_person_started_is_dropped_with_the_reason() -> None:
    dropped = parse_pipeline_event(load_pipeline_fixture("awslabs_codebuild_succeeded"), KNOWN)
    assert isinstance(dropped, Dropped)
    assert "'MyCodeBuildDemoUser', not a pipeline" in dropped.reason


@pytest.mark.parametrize(
    "name",
    [
        "awsdoc_pipeline_started",
        "awsdoc_pipeline_succeeded",
        "awsdoc_pipeline_failed",
        "awsdoc_action_source_succeeded",
        "awsdoc_action_deploy_failed",
        "thirdparty_action_approval_started",
        "thirdparty_codebuild_failed",
    ],
)
def test_events_of_pipelines_not_in_pipelines_are_dropped_with_the_reason(name: str) -> None:
    raw = load_pipeline_fixture(name)
    assert not isinstance(parse_pipeline_event(raw, KNOWN), Dropped)
    dropped = parse_pipeline_event(raw, frozenset({"another"}))
    assert isinstance(dropped, Dropped) and "is not in PIPELINES" in dropped.reason


def test_stage_events_are_not_reported() -> None:
    raw = load_pipeline_fixture("awsdoc_pipeline_started")
    raw["detail-type"] = "CodePipeline Stage Execution State Change"
    dropped = parse_pipeline_event(raw, KNOWN)
    assert isinstance(dropped, Dropped) and "is not reported" in dropped.reason


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"source": "aws.codepipeline", "detail-type": "x", "detail": {}}, True),
        ({"source": "aws.codebuild", "detail-type": "CodeBuild Build State Change"}, True),
        ({"source": "aws.codecommit", "detail-type": "CodeCommit Pull Request State Change"}, False),
        ({"Records": [{"EventSource": "aws:sns"}]}, False),
        ({"source": "aws.codepipeline"}, False),
        ("aws.codepipeline", False),
    ],
)
def test_the_dispatch_predicate(event: Any, expected: bool) -> None:
    assert is_pipeline_event(event) is expected


@pytest.mark.parametrize(
    ("initiator", "pipeline"),
    [
        ("codepipeline/web-deploy", "web-deploy"),
        ("MyCodeBuildDemoUser", None),
        ("codepipeline/", None),
        ("codepipeline/a/b", None),
        ("rule/codepipeline/x", None),
    ],
)
def test_pipeline_of_initiator(initiator: str, pipeline: str | None) -> None:
    assert pipeline_of_initiator(initiator) == pipeline


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(
        ["awsdoc_pipeline_started", "awsdoc_action_deploy_failed", "thirdparty_codebuild_failed"]
    ),
    key=st.sampled_from(
        [
            "pipeline",
            "execution-id",
            "state",
            "stage",
            "action",
            "type",
            "execution-result",
            "execution-trigger",
            "pipeline-execution-attempt",
            "build-status",
            "project-name",
            "build-id",
            "additional-information",
        ]
    ),
    value=JSON_VALUES,
)
def test_any_value_in_any_detail_field_parses_or_is_dropped_never_raises(
    name: str, key: str, value: Any
) -> None:
    raw = copy.deepcopy(load_pipeline_fixture(name))
    raw["detail"][key] = value
    result = parse_pipeline_event(raw, KNOWN)
    assert isinstance(result, (RunChange, ActionChange, BuildChange, Dropped))


def test_pipelines_setting() -> None:
    assert pipeline_names('["web-deploy", "api.v2"]') == frozenset({"web-deploy", "api.v2"})
    for bad, says in [("web", "not valid JSON"), ('"web"', "JSON list"), ('["a b"]', "not a pipeline name")]:
        with pytest.raises(ValueError, match=says):
            pipeline_names(bad)
    settings_ = Settings.from_environ({"PIPELINES": '["web-deploy"]', "PIPELINE_EVENTS": "failed,fixed"})
    assert settings_.pipelines == frozenset({"web-deploy"})
    assert settings_.pipeline_events == frozenset({"failed", "fixed"})
    assert Settings.from_environ({}).pipelines == frozenset()
    assert "started" in Settings.from_environ({}).pipeline_events


def test_pipeline_events_setting() -> None:
    assert pipeline_event_kinds("all,-started") == frozenset(
        {"succeeded", "fixed", "failed", "stopped", "superseded", "approval"}
    )
    with pytest.raises(ValueError, match="'fail' is not one of all"):
        pipeline_event_kinds("fail")
