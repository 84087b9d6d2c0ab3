"""Parse: CodePipeline and CodeBuild EventBridge events → one :data:`PipelineSignal` each.

Three detail types reach the notifier when context ``pipelines`` is set (``cdk/pipelines.py``):

=============================================  =====================  ==========================
detail type                                    view                   parsed as
=============================================  =====================  ==========================
``CodePipeline Pipeline Execution State Change``  :class:`PipelineExecutionDetail`  :class:`RunChange`
``CodePipeline Action Execution State Change``    :class:`ActionExecutionDetail`    :class:`ActionChange`
``CodeBuild Build State Change``                  :class:`BuildStateDetail`         :class:`BuildChange`
=============================================  =====================  ==========================

Each view is read-only, one property per field, and checks the field's type, so a malformed
field fails with a sentence naming it (:class:`~handler.errors.UnprocessableEvent`), which the
pipeline logs and drops. A pipeline not named in ``PIPELINES`` is unknown: its events are dropped
with that reason. A CodeBuild build belongs to a pipeline only when CodePipeline started it
(``additional-information.initiator`` is ``codepipeline/<name>``); any other build is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any

from handler.errors import UnprocessableEvent
from handler.sources import Dropped, is_pipeline_event, text_field

__all__ = [
    "ACTION_STATE_CHANGE",
    "BUILD_STATE_CHANGE",
    "CODEBUILD_SOURCE",
    "CODEPIPELINE_SOURCE",
    "PIPELINE_DETAIL_TYPES",
    "PIPELINE_STATE_CHANGE",
    "ActionChange",
    "ActionExecutionDetail",
    "BuildChange",
    "BuildStateDetail",
    "PipelineExecutionDetail",
    "PipelineSignal",
    "RunChange",
    "RunState",
    "is_pipeline_event",
    "parse_pipeline_event",
    "pipeline_of_initiator",
]

CODEPIPELINE_SOURCE = "aws.codepipeline"
CODEBUILD_SOURCE = "aws.codebuild"
PIPELINE_STATE_CHANGE = "CodePipeline Pipeline Execution State Change"
ACTION_STATE_CHANGE = "CodePipeline Action Execution State Change"
BUILD_STATE_CHANGE = "CodeBuild Build State Change"
#: The detail types the stack's rule sends here, by source.
PIPELINE_DETAIL_TYPES: Mapping[str, tuple[str, ...]] = {
    CODEPIPELINE_SOURCE: (PIPELINE_STATE_CHANGE, ACTION_STATE_CHANGE),
    CODEBUILD_SOURCE: (BUILD_STATE_CHANGE,),
}
_INITIATOR = re.compile(r"codepipeline/(?P<name>[A-Za-z0-9.@_-]{1,100})")
_MAX_TEXT = 4_000
_SURROGATES = re.compile(r"[\ud800-\udfff]")


class RunState(StrEnum):
    """A pipeline execution's, an action's or a build's state, as the events spell them."""

    STARTED = "STARTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    RESUMED = "RESUMED"
    CANCELED = "CANCELED"
    SUPERSEDED = "SUPERSEDED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    ABANDONED = "ABANDONED"
    IN_PROGRESS = "IN_PROGRESS"  #: CodeBuild's word for STARTED
    FAULT = "FAULT"  #: CodeBuild
    TIMED_OUT = "TIMED_OUT"  #: CodeBuild


def pipeline_of_initiator(initiator: str) -> str | None:
    """The pipeline that started a build (``codepipeline/<name>``), or None for a person or rule."""
    match = _INITIATOR.fullmatch(initiator)
    return match.group("name") if match else None


# -- typed read-only views -----------------------------------------------------------------------


_text = partial(text_field, limit=_MAX_TEXT)


def _number(mapping: Mapping[str, Any], key: str, where: str) -> int:
    value = mapping.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnprocessableEvent(f"{where}.{key} should be a number, got {type(value).__name__}")
    try:
        return int(float(value))
    except ValueError:
        raise UnprocessableEvent(f"{where}.{key} should be a number, got {value!r}") from None


def _object(mapping: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = mapping.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UnprocessableEvent(f"{where}.{key} should be an object, got {type(value).__name__}")
    return value


def _iso_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


class _View:
    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.raw_event = raw
        self.where = where

    def _get(self, key: str, *, required: bool = False) -> str:
        return _text(self.raw_event, key, self.where, required=required)


class Envelope(_View):
    """The EventBridge envelope every one of these events has."""

    @property
    def source(self) -> str:
        """``aws.codepipeline`` or ``aws.codebuild``."""
        return self._get("source", required=True)

    @property
    def detail_type(self) -> str:
        """One of :data:`PIPELINE_DETAIL_TYPES`."""
        return self._get("detail-type", required=True)

    @property
    def event_id(self) -> str:
        """EventBridge's id for this event (the same id on a redelivery)."""
        return self._get("id")[:200]

    @property
    def account(self) -> str:
        """The account the pipeline or build project is in."""
        return self._get("account")[:20]

    @property
    def region(self) -> str:
        """The pipeline's (or project's) region."""
        return self._get("region")[:40]

    @property
    def time(self) -> datetime | None:
        """When the state changed (ISO 8601)."""
        return _iso_time(self._get("time"))

    @property
    def detail(self) -> Mapping[str, Any]:
        """The detail object, read through the view for :attr:`detail_type`."""
        value = self.raw_event.get("detail")
        if not isinstance(value, dict):
            raise UnprocessableEvent(f"{self.where}.detail should be an object")
        return value


class ExecutionTrigger(_View):
    """``detail.execution-trigger``: what started the execution (newer events only)."""

    @property
    def trigger_type(self) -> str:
        """``StartPipelineExecution``, ``CloudWatchEvent``, ``PollForSourceChanges``, ``Webhook``, …"""
        return self._get("trigger-type")

    @property
    def trigger_detail(self) -> str:
        """Who or what: an ARN for ``StartPipelineExecution`` (the caller), a rule ARN, …"""
        return self._get("trigger-detail")

    @property
    def branch_name(self) -> str:
        """For a Git trigger on a branch."""
        return self._get("branch-name")

    @property
    def tag_name(self) -> str:
        """For a Git trigger on a tag."""
        return self._get("tag-name")

    @property
    def commit_id(self) -> str:
        """For a Git trigger."""
        return self._get("commit-id")


class PipelineExecutionDetail(_View):
    """``detail`` of a ``CodePipeline Pipeline Execution State Change`` event."""

    @property
    def pipeline(self) -> str:
        """The pipeline's name."""
        return self._get("pipeline", required=True)[:100]

    @property
    def execution_id(self) -> str:
        """The execution (GetPipelineExecution's ``pipelineExecutionId``)."""
        return self._get("execution-id", required=True)[:100]

    @property
    def state(self) -> str:
        """STARTED, SUCCEEDED, RESUMED, FAILED, CANCELED, SUPERSEDED, STOPPING, STOPPED."""
        return self._get("state", required=True)

    @property
    def start_time(self) -> datetime | None:
        """When the execution started (newer events only)."""
        return _iso_time(self._get("start-time"))

    @property
    def execution_trigger(self) -> ExecutionTrigger:
        """What started it (empty on older events)."""
        where = f"{self.where}.execution-trigger"
        return ExecutionTrigger(_object(self.raw_event, "execution-trigger", self.where), where)

    @property
    def attempt(self) -> int:
        """``pipeline-execution-attempt``: 1, then 2 after a retried stage, … (0 when absent)."""
        return _number(self.raw_event, "pipeline-execution-attempt", self.where)

    @property
    def version(self) -> int:
        """The pipeline structure's version."""
        return _number(self.raw_event, "version", self.where)


class ActionType(_View):
    """``detail.type``: which kind of action."""

    @property
    def owner(self) -> str:
        """``AWS``, ``ThirdParty`` or ``Custom``."""
        return self._get("owner")

    @property
    def category(self) -> str:
        """``Source``, ``Build``, ``Test``, ``Deploy``, ``Approval``, ``Invoke``, ``Compute``."""
        return self._get("category")

    @property
    def provider(self) -> str:
        """``CodeCommit``, ``CodeBuild``, ``Manual``, ``CodeDeploy``, …"""
        return self._get("provider")


class ExecutionResult(_View):
    """``detail.execution-result``: what the action's provider said (newer events only)."""

    @property
    def external_execution_url(self) -> str:
        """A link to the provider's run (the build, the deployment, the commit)."""
        return self._get("external-execution-url")

    @property
    def external_execution_summary(self) -> str:
        """The provider's one-line summary (an error, a commit subject)."""
        return self._get("external-execution-summary")

    @property
    def external_execution_id(self) -> str:
        """The provider's id for the run (a build id, a commit id)."""
        return self._get("external-execution-id")

    @property
    def error_code(self) -> str:
        """``JobFailed`` and the like, on failure."""
        return self._get("error-code")


class ActionExecutionDetail(PipelineExecutionDetail):
    """``detail`` of a ``CodePipeline Action Execution State Change`` event."""

    @property
    def stage(self) -> str:
        """The stage the action is in."""
        return self._get("stage", required=True)[:100]

    @property
    def action(self) -> str:
        """The action's name."""
        return self._get("action", required=True)[:100]

    @property
    def action_execution_id(self) -> str:
        """This run of the action."""
        return self._get("action-execution-id")[:100]

    @property
    def action_type(self) -> ActionType:
        """``detail.type``."""
        return ActionType(_object(self.raw_event, "type", self.where), f"{self.where}.type")

    @property
    def execution_result(self) -> ExecutionResult:
        """``detail.execution-result`` (empty when absent)."""
        where = f"{self.where}.execution-result"
        return ExecutionResult(_object(self.raw_event, "execution-result", self.where), where)


class BuildPhase(_View):
    """One of ``additional-information.phases``."""

    @property
    def phase_type(self) -> str:
        """``SUBMITTED``, ``PROVISIONING``, ``DOWNLOAD_SOURCE``, ``BUILD``, ``COMPLETED``, …"""
        return self._get("phase-type")

    @property
    def phase_status(self) -> str:
        """``SUCCEEDED``, ``FAILED``, ``FAULT``, ``TIMED_OUT``, ``STOPPED`` (absent while running)."""
        return self._get("phase-status")

    @property
    def phase_context(self) -> tuple[str, ...]:
        """What went wrong in the phase (``YAML_FILE_ERROR: …``), as CodeBuild says it."""
        value = self.raw_event.get("phase-context")
        if not isinstance(value, list):
            return ()
        return tuple(_SURROGATES.sub("\ufffd", item[:_MAX_TEXT]) for item in value if isinstance(item, str))


class BuildInformation(_View):
    """``detail.additional-information`` of a build event."""

    @property
    def initiator(self) -> str:
        """Who started the build: ``codepipeline/<pipeline>``, a user name, a rule."""
        return self._get("initiator")[:200]

    @property
    def logs_deep_link(self) -> str:
        """``logs.deep-link``: the build's CloudWatch Logs in the console."""
        logs = _object(self.raw_event, "logs", self.where)
        return _text(logs, "deep-link", f"{self.where}.logs")

    @property
    def phases(self) -> Iterator[BuildPhase]:
        """Every phase so far, in order."""
        value = self.raw_event.get("phases")
        for index, item in enumerate(value if isinstance(value, list) else ()):
            if isinstance(item, dict):
                yield BuildPhase(item, f"{self.where}.phases[{index}]")


class BuildStateDetail(_View):
    """``detail`` of a ``CodeBuild Build State Change`` event."""

    @property
    def build_status(self) -> str:
        """``IN_PROGRESS``, ``SUCCEEDED``, ``FAILED``, ``FAULT``, ``STOPPED``, ``TIMED_OUT``."""
        return self._get("build-status", required=True)

    @property
    def project_name(self) -> str:
        """The build project."""
        return self._get("project-name", required=True)[:255]

    @property
    def build_id(self) -> str:
        """The build's ARN (``arn:…:build/<project>:<uuid>``)."""
        return self._get("build-id", required=True)[:400]

    @property
    def additional_information(self) -> BuildInformation:
        """``additional-information``."""
        where = f"{self.where}.additional-information"
        return BuildInformation(_object(self.raw_event, "additional-information", self.where), where)


# -- the parsed signals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where an event came from: its id, account, region and time."""

    event_id: str
    account: str
    region: str
    time: datetime | None


@dataclass(frozen=True)
class RunChange:
    """A pipeline execution changed state.

    Attributes:
        trigger_type / trigger_detail: from ``execution-trigger`` when the event has it
            (GetPipelineExecution's ``trigger`` says the same for older events).
    """

    origin: Origin
    pipeline: str
    execution_id: str
    state: str
    attempt: int = 0
    started_at: datetime | None = None
    trigger_type: str = ""
    trigger_detail: str = ""


@dataclass(frozen=True)
class ActionChange:
    """An action in a pipeline execution changed state (approval gates, failures)."""

    origin: Origin
    pipeline: str
    execution_id: str
    stage: str
    action: str
    state: str
    category: str = ""
    provider: str = ""
    summary: str = ""
    external_url: str = ""
    external_id: str = ""
    error_code: str = ""

    @property
    def is_manual_approval(self) -> bool:
        """A manual approval action (Approve / Reject gate)."""
        return self.category == "Approval" and self.provider == "Manual"


@dataclass(frozen=True)
class BuildChange:
    """A CodeBuild build that a known pipeline started changed state.

    Attributes:
        build_id: CodePipeline's ``externalExecutionId`` for the action: ``<project>:<uuid>``.
        failed_phase / failed_context: the first phase that did not succeed, and why.
    """

    origin: Origin
    pipeline: str
    project: str
    build_id: str
    state: str
    logs_url: str = ""
    failed_phase: str = ""
    failed_context: str = ""


PipelineSignal = RunChange | ActionChange | BuildChange


def _origin(envelope: Envelope) -> Origin:
    return Origin(envelope.event_id, envelope.account, envelope.region, envelope.time)


def _unknown(pipeline: str) -> str:
    return f"pipeline {pipeline!r} is not in PIPELINES (CDK context pipelines); its events are not reported"


def parse_pipeline_event(event: Mapping[str, Any], pipelines: frozenset[str]) -> PipelineSignal | Dropped:
    """Parse one event; a :class:`Dropped` (with the reason) for anything not to report.

    Args:
        event: the EventBridge event as Lambda received it.
        pipelines: the pipelines this stack knows (``PIPELINES``).
    """
    envelope = Envelope(event, "event")
    try:
        source, detail_type = envelope.source, envelope.detail_type
        if detail_type not in PIPELINE_DETAIL_TYPES.get(source, ()):
            return Dropped("event", f"{source} {detail_type!r} is not reported", envelope.event_id)
        if detail_type == BUILD_STATE_CHANGE:
            return _build_change(envelope, pipelines)
        if detail_type == ACTION_STATE_CHANGE:
            return _action_change(envelope, pipelines)
        return _run_change(envelope, pipelines)
    except UnprocessableEvent as error:
        return Dropped("event", str(error), _safe_id(envelope))


def _action_change(envelope: Envelope, pipelines: frozenset[str]) -> ActionChange | Dropped:
    action = ActionExecutionDetail(envelope.detail, "event.detail")
    if action.pipeline not in pipelines:
        return Dropped("event", _unknown(action.pipeline), envelope.event_id)
    result, kind = action.execution_result, action.action_type
    return ActionChange(
        origin=_origin(envelope),
        pipeline=action.pipeline,
        execution_id=action.execution_id,
        stage=action.stage,
        action=action.action,
        state=action.state,
        category=kind.category,
        provider=kind.provider,
        summary=result.external_execution_summary,
        external_url=result.external_execution_url,
        external_id=result.external_execution_id,
        error_code=result.error_code,
    )


def _run_change(envelope: Envelope, pipelines: frozenset[str]) -> RunChange | Dropped:
    run = PipelineExecutionDetail(envelope.detail, "event.detail")
    if run.pipeline not in pipelines:
        return Dropped("event", _unknown(run.pipeline), envelope.event_id)
    trigger = run.execution_trigger
    return RunChange(
        origin=_origin(envelope),
        pipeline=run.pipeline,
        execution_id=run.execution_id,
        state=run.state,
        attempt=run.attempt,
        started_at=run.start_time,
        trigger_type=trigger.trigger_type,
        trigger_detail=trigger.trigger_detail,
    )


def _build_change(envelope: Envelope, pipelines: frozenset[str]) -> BuildChange | Dropped:
    build = BuildStateDetail(envelope.detail, "event.detail")
    information = build.additional_information
    pipeline = pipeline_of_initiator(information.initiator)
    if pipeline is None:
        reason = f"build of {build.project_name!r} was started by {information.initiator!r}, not a pipeline"
        return Dropped("event", reason, envelope.event_id)
    if pipeline not in pipelines:
        return Dropped("event", _unknown(pipeline), envelope.event_id)
    failed = next(
        (phase for phase in information.phases if phase.phase_status not in ("", "SUCCEEDED")), None
    )
    return BuildChange(
        origin=_origin(envelope),
        pipeline=pipeline,
        project=build.project_name,
        build_id=build.build_id.rsplit(":build/", 1)[-1],
        state=build.build_status,
        logs_url=information.logs_deep_link,
        failed_phase=failed.phase_type if failed else "",
        failed_context="; ".join(failed.phase_context) if failed else "",
    )


def _safe_id(envelope: Envelope) -> str:
    try:
        return envelope.event_id
    except UnprocessableEvent:
        return ""
